"""Auto-grader for Jupyter notebook homework that trains Keras models."""

__version__ = "0.1.0"
