"""Who may connect: API keys (hashed, constant-time), stream tokens, tenants, origins."""
