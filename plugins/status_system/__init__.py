"""Status System: client statuses by rules or by hand, a progress bar in the portal, KYC onboarding."""
