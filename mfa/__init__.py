"""Multi-factor sign-in: authenticator apps (TOTP), passkeys and security keys (WebAuthn), recovery codes, the policy and step-up."""
