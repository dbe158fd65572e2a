"""Misuses the stubs must catch (each line is an error under mypy)."""
import cinev4

cinev4.hash_files(["a"], io="tape")
size: str = cinev4.hash_file("x").size
cinev4.hash_bytes(12345)
