"""The GCP plugin for atlas: Compute Engine, Persistent Disk, Cloud SQL and load balancer kinds
that validate and estimate offline; provisioning is not available yet (see docs/gcp-azure.md)."""
