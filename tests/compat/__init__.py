"""Tubes and code written for the original noob (1003.0.2), run unchanged on this project."""
