"""The AWS plugin for atlas: EC2 networks, security groups and instances (see docs/aws.md)."""
