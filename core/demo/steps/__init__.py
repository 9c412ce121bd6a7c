"""The demo's steps, one Python module each; ``core.demo.runner`` lists their order."""
