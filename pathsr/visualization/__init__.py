from .sr_visualizer import SRVisualizer

__all__ = ['SRVisualizer']
