"""What every chat channel needs, written once: config primitives and cross-checks, people
resolution, chat intake rules, the button codec, bilingual texts, the recipient's locale and an
expiring access-token cache. Channels import the kit; the kit imports no channel."""
