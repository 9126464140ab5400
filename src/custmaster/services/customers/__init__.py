"""Customer use cases: one module per group (create, read, update, lifecycle), each with
its opening and write step; ``outcome`` holds what they answer."""
