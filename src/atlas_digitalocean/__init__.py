"""The DigitalOcean provider plugin for atlas."""
