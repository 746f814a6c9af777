// After a passkey is registered, load the page again: the server moves on (sign-in enrolment) or lists it.
document.addEventListener("otp_webauthn.register_complete", () => {
  window.setTimeout(() => window.location.reload(), 300);
});
