"""Pure authentication: Authent signing/verification and the nonce window. Shared by server and client."""
