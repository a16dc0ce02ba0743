"""Container image access: references, registry client, OCI layout / archive readers,
and a squashed, read-only view of the files catalogers ask for."""
