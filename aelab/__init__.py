"""aelab: an interactive lab for learning how autoencoders work (library part, no Streamlit here)."""

__version__ = "0.1.0"
