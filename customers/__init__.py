"""The customer record: identities, language, consent."""
