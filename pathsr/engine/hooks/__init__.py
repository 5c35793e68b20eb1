from .sr_visualization_hook import SRVisualizationHook

__all__ = ['SRVisualizationHook']
