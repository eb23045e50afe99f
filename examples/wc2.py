def word_count(text: str, sep: str = None) -> int:
    """Count the words in a text, split by sep (default: any whitespace)."""
    return len([w for w in text.split(sep) if w])
