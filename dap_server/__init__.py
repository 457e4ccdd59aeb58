"""pipeline-dap: a Debug Adapter Protocol server for CI/CD pipeline YAML."""

__version__ = "0.1.0"
