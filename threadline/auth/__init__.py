"""Identity and tenancy: users, sessions, API tokens, workspaces, memberships, invitations."""
