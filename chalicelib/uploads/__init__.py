"""Uploads: presigned S3 PUTs of a customer's images, and the check that an image URL is their own finished one."""
