"""The platform shell: the service registry, the `clearway` command, databases and the embedded broker."""
