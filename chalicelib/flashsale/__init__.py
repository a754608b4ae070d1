"""Flash sales (秒杀): admin sessions, sharded promo stock, admission through a queue, orders of kind flash_sale."""
