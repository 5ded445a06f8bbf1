"""RigBot application: settings, router, service, store, host probe, CLI, Discord adapter."""
