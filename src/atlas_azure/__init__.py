"""The Azure plugin for atlas: virtual machine, managed disk, flexible server and load balancer
kinds that validate and estimate offline; provisioning is not available yet (see
docs/gcp-azure.md)."""
