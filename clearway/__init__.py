"""The platform shell: service registry, `clearway` command, databases, embedded broker."""
