"""Operations: health and the API's own description."""
