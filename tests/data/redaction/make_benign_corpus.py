"""Write benign_support_chats.jsonl: support chats with no personal data, full of what redaction must keep.

    .venv/bin/python tests/data/redaction/make_benign_corpus.py [--records 300] [--seed 20250311] [--out PATH]

Every record is a chat (system, user, assistant, and sometimes a follow-up or two) about a product:
company and product names (invented ones and real ones such as Slack or Jira, CamelCase, multi-word,
possessive), UI words and menu paths, ticket, case, order and invoice ids, versions, release dates and
maintenance windows, plans, features, error codes, file names, docs URLs on example.com, prices,
durations, programming terms, generic roles and weekdays in schedules. No person names, no emails, no
phone numbers, no addresses, no customer places: anything redaction changes in it is a false positive.

Pure standard library and a fixed seed: the same arguments write the same bytes
(tests/unit/redaction/test_corpora.py checks that the committed file is what this script writes).
"""

# Sentence templates are data: one template per line reads better than wrapped fragments.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "benign_support_chats.jsonl"
SEED = 20250311
RECORDS = 300

# (company, its products). Invented names, Microsoft's sample companies, CamelCase and multi-word ones.
COMPANIES: list[tuple[str, list[str]]] = [
    ("Acme", ["Acme Analytics", "Acme Cloud", "Acme Billing"]),
    ("Globex", ["Globex Cloud", "Globex Mail"]),
    ("Initech", ["Initech Payroll", "Initech Timesheets"]),
    ("DataSync", ["DataSync Pro", "DataSync Lite"]),
    ("Orbit Labs", ["Orbit", "Orbit Mobile"]),
    ("Contoso", ["Contoso Health Portal", "Contoso CRM"]),
    ("Fabrikam", ["Fabrikam Fiber", "Fabrikam Router Manager"]),
    ("Northwind Traders", ["Northwind POS", "Northwind Inventory"]),
    ("Umbrella Analytics", ["UmbrellaBI", "Umbrella Dashboards"]),
    ("Hooli", ["HooliChat", "Hooli Drive"]),
    ("TaskHive", ["TaskHive Boards", "TaskHive Sprints"]),
    ("LedgerLine", ["LedgerLine Invoicing", "LedgerLine Expenses"]),
    ("CloudNest", ["CloudNest Backup", "CloudNest Drive"]),
    ("MetricMesh", ["MetricMesh", "MetricMesh Alerts"]),
    ("PixelForge", ["PixelForge Studio", "PixelForge Assets"]),
    ("ShipQuick", ["ShipQuick Returns", "ShipQuick Labels"]),
    ("BrightDesk", ["BrightDesk Helpdesk", "BrightDesk Chat"]),
    ("Wingtip Toys", ["Wingtip Toys online store"]),
    ("Tailspin Software", ["Tailspin Scheduler", "FlightPlan"]),
    ("QuantaBooks", ["QuantaBooks", "QuantaBooks Payroll"]),
]
INTEGRATIONS = [
    "Slack", "Zendesk", "Jira", "Notion", "Salesforce", "HubSpot", "Stripe", "GitHub", "GitLab", "Okta",
    "Microsoft Teams", "Google Drive", "Dropbox", "Zoom", "Shopify", "QuickBooks Online", "Xero", "Trello",
    "Asana", "Confluence", "Intercom", "Mailchimp", "PagerDuty", "Datadog", "Snowflake", "BigQuery",
    "Azure AD", "Google Workspace", "Bitbucket", "Zapier",
]  # fmt: skip
IDPS = ["Okta", "Azure AD", "Google Workspace", "OneLogin", "JumpCloud", "Auth0"]
PLANS = ["Free", "Starter", "Pro", "Business", "Team", "Growth", "Enterprise", "Enterprise Plus"]
FEATURES = [
    "Smart Inbox", "Auto-Reconcile", "Bulk Export", "Team Spaces", "the Audit Log", "Usage Insights",
    "Webhooks", "Single Sign-On", "two-factor authentication", "Dark Mode", "Offline Mode",
    "Scheduled Reports", "Custom Fields", "Approval Workflows", "the API Explorer", "Sandbox workspaces",
    "Role-based access control", "Data Retention rules", "Saved Views", "the Command Palette",
    "Live Sync", "Version History", "Guest Access", "Priority Support",
]  # fmt: skip
MENU_PATHS = [
    "Settings > Billing", "Admin > Members", "Settings > Security", "Account > Plan",
    "Reports > Exports", "Settings > Integrations", "Workspace settings > API keys",
    "Settings > Notifications", "Admin > Audit Log", "Settings > Security > Single Sign-On",
    "Admin > Roles & permissions", "Billing > Invoices", "Settings > Data > Retention",
    "Help > Contact support", "Admin > Workspace > Danger zone", "Settings > Developer > Webhooks",
]  # fmt: skip
BUTTONS = [
    "Invite", "Save", "Export", "Download invoice", "Reset password", "Connect", "Disconnect", "Upgrade",
    "Cancel plan", "Retry", "Sync now", "Generate key", "Revoke", "Archive", "Restore", "Apply coupon",
    "Add member", "Send test event", "Verify domain", "Publish", "Resend invite", "Change plan",
]  # fmt: skip
TABS = ["Reports", "Billing", "Members", "Integrations", "Activity", "Usage", "Invoices", "Overview", "Logs"]
MOBILE_ACTIONS = ["tap Save", "tap the gear icon, then Sync", "pull down to refresh", "tap Menu, then Help",
                  "tap Settings, then Notifications", "tap the + button, then New project"]  # fmt: skip
ERROR_CODES = [
    "ERR_429", "E1002", "E2041", "ERR_TOKEN_EXPIRED", "SYNC_TIMEOUT", "HTTP 503", "403 Forbidden",
    "ERR_QUOTA_EXCEEDED", "E404-ATTACHMENT", "ERR_INVALID_SIGNATURE", "500 Internal Server Error",
    "ERR_SAML_AUDIENCE", "E3007",
]  # fmt: skip
FILES = [
    "export_2024-10.csv", "invoice.pdf", "config.yaml", "report-Q3.xlsx", "users.csv", "backup.zip",
    "settings.json", "import_template.xlsx", "audit-log.jsonl", "metadata.xml", "logo.png", "webhook.py",
    "products.csv", "schema.sql",
]  # fmt: skip
DOC_URLS = [
    "https://docs.example.com/billing/invoices", "https://docs.example.com/sso/saml",
    "https://docs.example.com/api/rate-limits", "https://example.com/pricing",
    "https://status.example.com", "https://docs.example.com/integrations/slack",
    "https://docs.example.com/exports/csv", "https://example.com/changelog",
    "https://docs.example.com/admin/members", "https://docs.example.com/api/webhooks",
    "https://help.example.com/articles/2fa", "https://example.org/docs/getting-started",
]  # fmt: skip
TECH = [
    "Python", "JSON", "OAuth 2.0", "SAML", "SCIM", "the REST API", "GraphQL", "CSV", "YAML", "Node.js",
    "cURL", "the JavaScript SDK", "the Python SDK", "TLS 1.2", "webhooks", "Java", "Go", "PostgreSQL",
    "Docker", "Kubernetes", "Terraform",
]  # fmt: skip
ROLES = [
    "your account manager", "our billing team", "the workspace owner", "an admin", "our engineering team",
    "the on-call engineer", "your IT department", "our security team", "a workspace admin",
    "our onboarding team", "the product team", "our support engineers", "your finance team",
]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]  # fmt: skip
CURRENCIES = ["$", "€", "£"]
DURATIONS = [
    "about 10 minutes", "24 hours", "5 business days", "a few seconds", "about an hour",
    "30 days", "two business days", "48 hours", "under a minute", "7 days", "90 days", "15 minutes",
]  # fmt: skip
CHANNELS = ["chat", "email", "web", "in-app", "phone"]
PRIORITIES = ["low", "normal", "high", "urgent"]

USER_OPENERS = ["", "", "Hi, ", "Hello, ", "Hey, ", "Good morning, ", "Hi team, ", "Quick question: ",
                "Hello {company} support, ", "Hi there, "]  # fmt: skip
USER_CLOSERS = ["", "", "", " Thanks!", " Thanks in advance.", " Cheers.", " Any ideas?", " Appreciate it."]
AGENT_OPENERS = ["", "", "Thanks for reaching out. ", "Happy to help. ", "Good question. ", "Sure! ",
                 "Thanks for the details. ", "Hi there, ", "Sorry about that. "]  # fmt: skip
AGENT_CLOSERS = ["", "", "", " Let me know if anything else comes up.", " Anything else I can help with?",
                 " I've noted this on {ticket}.", " More in the docs: {url}."]  # fmt: skip

SYSTEM_PROMPTS = [
    "You are {company}'s support assistant. Be brief, polite and specific.",
    "You are the support assistant for {product}. Answer questions about billing, accounts and integrations.",
    "You help customers of {company} with {product}. Keep answers short and link to the docs when useful.",
    "{company} Support. You answer as the {product} help desk; never promise refunds above the plan price.",
    "You are a helpful assistant for {product} by {company}. If you are unsure, offer to open a ticket.",
    "Act as {company}'s customer support agent for {product}. Use plain language and numbered steps.",
    "You are the in-app help for {product}. Answer in English, in at most five sentences.",
]


def _ticket(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return f"T-{rng.randint(1000, 9999)}"
    if kind == 1:
        return f"C{rng.randint(1000, 9999)}"
    if kind == 2:
        return f"#{rng.randint(1000, 9999)}"
    if kind == 3:
        return f"CASE-{rng.randint(10000, 99999)}"
    if kind == 4:
        return f"REQ-{rng.randint(100, 9999)}"
    if kind == 5:
        return f"SR-{rng.randint(1000, 9999)}"
    if kind == 6:
        return f"INC-{rng.randint(1000, 9999)}"
    return f"T-{rng.randint(1000, 9999)}"


def _invoice(rng: random.Random) -> str:
    return rng.choice(
        [
            f"INV-{rng.randint(2023, 2025)}-{rng.randint(1, 9999):04d}",
            f"INV{rng.randint(10000, 99999)}",
            f"invoice #{rng.randint(1000, 9999)}",
        ]
    )


def _order(rng: random.Random) -> str:
    return rng.choice([f"ORD-{rng.randint(10000, 99999)}", f"order #{rng.randint(1000, 9999)}"])


def _sku(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return f"SKU-{rng.choice(letters)}{rng.choice(letters)}{rng.randint(10, 99)}"


def _version(rng: random.Random) -> str:
    major, minor, patch = rng.randint(1, 9), rng.randint(0, 12), rng.randint(0, 9)
    return rng.choice(
        [f"v{major}.{minor}.{patch}", f"{major}.{minor}", f"{major}.{minor} LTS", f"{major}.{minor}.{patch}"]
    )


def _release_date(rng: random.Random) -> dict[str, str]:
    """A release date three ways: with its preposition, bare, and as a month."""
    year, month, day = rng.randint(2023, 2025), rng.randint(1, 12), rng.randint(1, 28)
    on_date = rng.choice(
        [
            f"on {MONTHS[month - 1]} {day}, {year}",
            f"on {year}-{month:02d}-{day:02d}",
            f"on {day} {MONTHS[month - 1]} {year}",
            f"in {MONTHS[month - 1]} {year}",
        ]
    )
    bare = rng.choice(
        [f"{year}-{month:02d}-{day:02d}", f"{MONTHS[month - 1]} {day}", f"{MONTHS[month - 1]} {day}, {year}"]
    )
    return {"on_date": on_date, "date": bare, "month": f"{MONTHS[month - 1]} {year}"}


def _doc_url(rng: random.Random, topic: str) -> str:
    slug = rng.choice(["", "/faq", "/getting-started", "/troubleshooting", "/reference"])
    return rng.choice(
        [
            f"https://docs.example.com/{topic}{slug}",
            f"https://help.example.com/articles/{topic}-{rng.randint(10, 99)}",
            rng.choice(DOC_URLS),
        ]
    )


def _window(rng: random.Random) -> str:
    start = rng.randint(0, 22)
    return rng.choice(
        [
            f"{rng.choice(DAYS)} {start:02d}:00-{start + 2:02d}:00 UTC",
            f"{rng.choice(DAYS)} from {start:02d}:00 to {start + 1:02d}:30 UTC",
            f"every {rng.choice(DAYS)} at {start:02d}:00 UTC",
            f"{rng.choice(DAYS)} night, {start:02d}:00 UTC",
        ]
    )


def _price(rng: random.Random) -> str:
    amount = rng.choice([9, 12, 15, 19, 29, 49, 79, 99, 149, 199, 499])
    unit = rng.choice(["per month", "per user per month", "a year", "/month", "per seat", "per workspace"])
    return f"{rng.choice(CURRENCIES)}{amount} {unit}".replace(" /", "/")


def _context(rng: random.Random, topic: str) -> dict[str, str]:
    company, products = rng.choice(COMPANIES)
    integration = rng.choice(INTEGRATIONS)
    return {
        "company": company,
        "product": rng.choice(products),
        "integration": integration,
        "integration2": rng.choice([i for i in INTEGRATIONS if i != integration]),
        "idp": rng.choice(IDPS),
        "plan": rng.choice(PLANS),
        "plan2": rng.choice(PLANS),
        "feature": rng.choice(FEATURES),
        "path": rng.choice(MENU_PATHS),
        "button": rng.choice(BUTTONS),
        "button2": rng.choice(BUTTONS),
        "tab": rng.choice(TABS),
        "mobile": rng.choice(MOBILE_ACTIONS),
        "error": rng.choice(ERROR_CODES),
        "file": rng.choice(FILES),
        "url": _doc_url(rng, topic),
        "tech": rng.choice(TECH),
        "role": rng.choice(ROLES),
        "day": rng.choice(DAYS),
        "duration": rng.choice(DURATIONS),
        "ticket": _ticket(rng),
        "invoice": _invoice(rng),
        "order": _order(rng),
        "sku": _sku(rng),
        "version": _version(rng),
        "version2": _version(rng),
        **_release_date(rng),
        "window": _window(rng),
        "price": _price(rng),
        "count": str(rng.choice([2, 3, 5, 10, 12, 25, 50, 100, 250])),
        "hour": f"{rng.randint(0, 23):02d}:{rng.choice(['00', '15', '30', '45'])}",
        "percent": f"{rng.choice([10, 15, 20, 25, 30])}%",
    }


# A topic: its name, user openings, agent answers, and topic-specific follow-ups (user, agent).
Topic = tuple[str, list[str], list[str], list[tuple[str, str]]]
TOPICS: list[Topic] = [
    (
        "billing",
        [
            "I was charged twice for {invoice}. Can you check?",
            "why does {invoice} show {price} when we're on the {plan} plan?",
            "Our card payment for the {plan} plan failed with {error}. What now?",
            "I need a copy of {invoice} for our accounts.",
            "Can we switch from monthly to annual billing on {product}?",
        ],
        [
            "I can see two charges for {invoice}. {role} has refunded the duplicate; it will show within {duration}.",
            "The {plan} plan is {price}; {invoice} also includes the seats added mid-cycle. You can see the breakdown under {path}.",
            "Go to Settings > Billing and click Retry to try the payment again. If {error} comes back, {role} can take it from there on {ticket}.",
            "You can download it any time: open {path}, find {invoice} and click Download invoice. It's a PDF named {file}.",
            "Yes. Under {path}, choose Change plan, then Annual. Annual billing on {plan} saves {percent}.",
        ],
        [
            (
                "Will the refund go back to the same card?",
                "Yes, refunds always go to the original payment method, within {duration}.",
            ),
            (
                "Can {role} send invoices to our finance inbox automatically?",
                "Yes: under {path}, add a billing contact and every new invoice is sent there.",
            ),
        ],
    ),
    (
        "password",
        [
            "How do I reset my password for {product}?",
            "I'm locked out after too many attempts and the app says {error}.",
            "The reset link for {product} says it expired.",
            "how do i turn on two-factor authentication in {product}?",
        ],
        [
            "Go to Settings, choose Security, then Reset password. The reset link is valid for one hour.",
            "Accounts unlock automatically after 15 minutes. After that, click Reset password on the sign-in page.",
            "Reset links expire after one hour. Request a new one from the sign-in page and open it within {duration}.",
            "Open {path}, click Enable under Two-factor authentication and scan the code with an authenticator app.",
        ],
        [
            (
                "Can an admin force 2FA for the whole workspace?",
                "Yes, on Business and Enterprise: Admin > Security > Require two-factor authentication.",
            ),
            (
                "Do you support hardware security keys?",
                "Yes, WebAuthn keys work in {product} {version} and later.",
            ),
        ],
    ),
    (
        "members",
        [
            "How do I add a team member to {product}?",
            "I clicked Invite but the invitation never showed up for my colleague.",
            "How many seats does the {plan} plan include?",
            "Can I give someone read-only access to the {tab} tab?",
            "We need to remove a contractor's access today.",
        ],
        [
            "Under Admin > Members, click Invite, enter their work address and pick a role. They get an invite that is valid for 7 days.",
            "Invitations sometimes land in spam. Under {path} you can click Resend invite, or copy the invite link and share it yourself.",
            "The {plan} plan includes {count} seats; extra seats are {price}.",
            "Yes. Create a role under Admin > Roles & permissions with View on {tab} only, then assign it under Admin > Members.",
            "Open Admin > Members, find the account and choose Remove from workspace. Their sessions end within {duration}.",
        ],
        [
            (
                "Is there a limit on guests?",
                "Guest Access allows up to {count} guests on {plan}; guests don't use a paid seat.",
            ),
            (
                "Can we provision members from {idp}?",
                "Yes, with SCIM on Enterprise. The setup guide is at {url}.",
            ),
        ],
    ),
    (
        "plans",
        [
            "What's the difference between {plan} and {plan2}?",
            "Does the {plan} plan include {feature}?",
            "we want to downgrade from {plan} to {plan2} at the end of the month",
            "Is there a discount for nonprofits on {product}?",
        ],
        [
            "{plan2} adds {feature}, the Audit Log and priority support. Prices are on {url}.",
            "{feature} is included from {plan} upwards. On lower plans you can try it free for 14 days.",
            "You can schedule that under {path}: choose Change plan, pick {plan2} and the change applies at the next renewal.",
            "Yes, nonprofits get {percent} off any paid plan. {role} can apply it to your workspace.",
        ],
        [
            (
                "Do we lose data if we downgrade?",
                "No. Features outside the new plan become read-only; nothing is deleted.",
            ),
            ("Can we pay by bank transfer?", "Yes, for annual Enterprise contracts. {role} will set it up."),
        ],
    ),
    (
        "integration",
        [
            "How do I connect {integration} to {product}?",
            "The {integration} integration stopped syncing yesterday with {error}.",
            "Can {product} post alerts into a {integration} channel?",
            "Is there a native {integration} integration or do we need Zapier?",
            "{integration} says the {product} app needs to be re-authorised.",
        ],
        [
            "Go to Settings > Integrations, find {integration} and click Connect. You'll be asked to approve access in {integration}.",
            "That error means the token expired. Under Settings > Integrations, click Disconnect on {integration}, then Connect again.",
            "Yes. In Settings > Integrations > {integration}, choose the channel and the events to post, then click Save.",
            "There's a native one since {product} {version}; see {url}. Zapier works too if you need {integration2}.",
            "Re-authorising is safe: click Connect under Settings > Integrations and approve the new scopes. Nothing is lost.",
        ],
        [
            (
                "Does it sync both ways?",
                "Changes made in {integration} sync back every {duration}; you can also click Sync now.",
            ),
            (
                "Can we connect {integration2} as well?",
                "Yes, {integration2} is under the same page; each integration has its own settings.",
            ),
        ],
    ),
    (
        "api",
        [
            "Our script gets {error} from the API after a few hundred calls.",
            "Where do I create an API key for {product}?",
            "Does the API support {tech}?",
            "The webhook signature check fails with ERR_INVALID_SIGNATURE in our {tech} service.",
            "Is there an SDK for Python or only the REST API?",
        ],
        [
            "ERR_429 means the rate limit: {count} requests per minute on {plan}. Back off and retry after the Retry-After header; limits are listed at {url}.",
            "Open Workspace settings > API keys and click Generate key. Keys are shown once, so store it in your secrets manager.",
            "Yes, {tech} is supported since {version}. Examples are on {url}.",
            "Compute the HMAC over the raw request body, not the parsed JSON. The signing secret is under Settings > Developer > Webhooks.",
            "There's an official Python SDK (pip install the package named in {url}) and a JavaScript SDK; both wrap the REST API.",
        ],
        [
            (
                "Can we get a higher rate limit?",
                "Enterprise workspaces can request one; {role} reviews requests within {duration}.",
            ),
            (
                "Is the API versioned?",
                "Yes. The current version is {version}; older versions are supported for 12 months after a new one ships.",
            ),
        ],
    ),
    (
        "sso",
        [
            "We want to set up SAML SSO with {idp}.",
            "SSO login fails with ERR_SAML_AUDIENCE.",
            "Can we enforce SSO for everyone in the workspace?",
            "Does {product} support SCIM provisioning from {idp}?",
        ],
        [
            "Go to Settings > Security > Single Sign-On, choose SAML, and upload the metadata.xml from {idp}. The guide is at {url}.",
            "That means the Audience URI in {idp} doesn't match. Copy the Entity ID shown under Settings > Security > Single Sign-On into {idp}.",
            "Yes, on Enterprise: turn on Require SSO under Settings > Security. Admins keep a password login as a fallback.",
            "Yes, SCIM 2.0 is supported on Enterprise. Generate a SCIM token under Workspace settings > API keys.",
        ],
        [
            (
                "Does it work with {idp} groups?",
                "Yes, groups map to roles under Admin > Roles & permissions.",
            ),
            (
                "What happens to existing sessions?",
                "They stay valid until they expire, at most {duration}, then SSO is required.",
            ),
        ],
    ),
    (
        "export",
        [
            "How can I export all our data from {product}?",
            "The export of the {tab} tab gives an empty {file}.",
            "Can exports run automatically every {day}?",
            "What format does Bulk Export use?",
        ],
        [
            "Open Reports > Exports and click Export. You'll get a download link for a ZIP with CSV and JSON files, valid for {duration}.",
            "Empty files usually mean a filter is applied. Open the {tab} tab, clear the filters and click Export again.",
            "Yes. Under Reports > Exports, create a schedule, pick {day} at {hour} UTC, and choose {integration} or a download link as the destination.",
            "CSV by default, or JSON Lines if you choose it. Large exports are split into files of {count} MB.",
        ],
        [
            (
                "Is there an import template?",
                "Yes, download import_template.xlsx from Settings > Data > Import.",
            ),
            (
                "How long are exports kept?",
                "Export files are kept for {duration}, then deleted automatically.",
            ),
        ],
    ),
    (
        "release",
        [
            "What changed in {product} {version}?",
            "Is {version} the latest version of the desktop app?",
            "When will {feature} be generally available?",
            "Since updating to {version} the {tab} tab loads slowly.",
            "Do you still support {version2}?",
        ],
        [
            "{version} was released {on_date}. It adds {feature}, faster search and fixes for the {integration} sync. The full changelog is on {url}.",
            "The latest is {version2}, released {on_date}. The app updates itself; you can check under Help > About.",
            "{feature} is in beta now and planned for general availability in {month}. You can turn the beta on under Settings > Labs.",
            "Thanks, that's a known issue in {version}, fixed in the {date} update. Until then, collapsing the filters panel helps.",
            "{version2} gets security fixes until {month}. We recommend moving to the current LTS release.",
        ],
        [
            (
                "Is there an LTS release?",
                "Yes: the LTS line gets fixes for 18 months. The current one is {version}.",
            ),
            (
                "Will the update change our settings?",
                "No, settings and integrations carry over to {version}.",
            ),
        ],
    ),
    (
        "maintenance",
        [
            "Is {product} down? We're getting {error}.",
            "When is the next maintenance window?",
            "Will the maintenance on {day} affect the API?",
            "Do you publish incident reports?",
        ],
        [
            "We had a partial outage between {hour} and the top of the hour UTC; it's resolved now. Updates are on {url}.",
            "Scheduled maintenance is {window}. The app stays read-only during it; nothing is lost.",
            "During the {window} window the API returns HTTP 503 for up to {duration}; clients that retry are fine.",
            "Yes, every incident gets a post-mortem on https://status.example.com within {duration}.",
        ],
        [
            (
                "Can we get notified automatically?",
                "Subscribe on https://status.example.com or connect the status feed to {integration}.",
            ),
            (
                "Does maintenance ever happen on weekdays?",
                "Only for urgent security fixes; regular maintenance is on {day} nights.",
            ),
        ],
    ),
    (
        "bug",
        [
            "Uploading {file} fails with {error}.",
            "The Save button does nothing in the {tab} tab on {product} {version}.",
            "Charts on the Overview tab are blank since this morning.",
            "The mobile app crashes when I {mobile}.",
            "Search doesn't find anything older than {duration}.",
        ],
        [
            "{error} means the file is over the size limit of {count} MB on {plan}. Split the file or compress it and try again.",
            "Thanks, our engineering team confirmed the bug in {version}; a fix ships in {version2}. As a workaround, press Ctrl+S.",
            "We found a caching issue and cleared it; please reload the page. If the charts stay blank, send us the ticket number {ticket}.",
            "Thanks for the report. Please update to {version}, which fixes that crash; the update is in your app store now.",
            "Search indexes the last {duration} on {plan}; {plan2} indexes everything. You can also use the filters on the {tab} tab.",
        ],
        [
            (
                "Is there a way to track the fix?",
                "Yes, it's tracked as {ticket}; the changelog on https://example.com/changelog lists it when it ships.",
            ),
            (
                "Do you need logs from us?",
                "Yes please: under Help > Diagnostics click Export logs and attach the audit-log.jsonl file here.",
            ),
        ],
    ),
    (
        "order",
        [
            "Where is {order}? It says processing since {day}.",
            "Can I change the quantity of {sku} in {order}?",
            "{sku} shows out of stock, when is it back?",
            "I'd like to return {sku} from {order}.",
        ],
        [
            "{order} was packed on {day} and handed to the carrier; the tracking link is on the order page under Orders.",
            "The order hasn't shipped yet, so yes: open {order}, click Edit and change the quantity of {sku}, then Save.",
            "{sku} is expected back within {duration}. Click Notify me on the product page to get an in-app alert.",
            "Sure. Open {order}, choose Return items, select {sku} and print the label. Refunds are issued within {duration} of receipt.",
        ],
        [
            ("Is return shipping free?", "Yes, returns within 30 days are free with the prepaid label."),
            (
                "Can I combine two orders?",
                "Only before they ship; {role} can merge them if you reply with both order numbers.",
            ),
        ],
    ),
    (
        "notifications",
        [
            "How do I stop the daily digest from {product}?",
            "We get duplicate notifications in {integration}.",
            "Can notifications be sent only during working hours?",
        ],
        [
            "Go to Settings > Notifications and switch the Daily digest off, then click Save.",
            "That happens when two workspaces post to the same channel. Disconnect one under Settings > Integrations > {integration}.",
            "Yes: in Settings > Notifications set quiet hours, for example {day} to Friday, 09:00-17:00 in your workspace time zone.",
        ],
        [
            ("Can admins set this for everyone?", "Yes, under Admin > Workspace > Notification defaults."),
        ],
    ),
    (
        "reports",
        [
            "Where can I see usage per team?",
            "Can I schedule the weekly report for {day} mornings?",
            "The numbers in the {tab} tab don't match the export.",
            "Can we build a custom dashboard in {product}?",
        ],
        [
            "Open the Reports tab and choose Usage Insights; group by team and pick a date range.",
            "Yes. In the Reports tab click Schedule, choose {day} at {hour} UTC and the recipients' channel in {integration}.",
            "The tab shows data in your workspace time zone while the export uses UTC, so the days can shift. Set both to UTC under Settings > Region & time.",
            "Yes, on {plan} and above: Reports > Dashboards > New dashboard. You can add charts from any saved view.",
        ],
        [
            (
                "Can I share a dashboard with a guest?",
                "Yes, with a view-only link from the Share menu; links can expire after {duration}.",
            ),
        ],
    ),
    (
        "account",
        [
            "How do I delete our workspace?",
            "How long do you keep data after cancelling {product}?",
            "Can we move our workspace to another plan owner?",
            "Where is data for {product} hosted?",
        ],
        [
            "The workspace owner can do it under Admin > Workspace > Danger zone. It's permanent after {duration}.",
            "Data is kept for 30 days after cancellation so you can reactivate, then deleted. Backups roll off within 90 days.",
            "Yes. The current owner opens Admin > Members, chooses the new owner and clicks Transfer ownership.",
            "In our cloud regions on encrypted storage; the details and subprocessors are listed at {url}.",
        ],
        [
            (
                "Can we get a data processing agreement?",
                "Yes, {role} can send our standard DPA; it's also linked from {url}.",
            ),
        ],
    ),
    (
        "escalation",
        [
            "We've been waiting on {ticket} for three days.",
            "Can someone from your side call our admin about case {ticket}?",
            "This is blocking our launch on {day}. Can you escalate?",
        ],
        [
            "Sorry for the wait. I've escalated {ticket} to {role}; you'll get an update within {duration}.",
            "I've asked {role} to schedule a call; they'll propose times on {ticket} today.",
            "Understood. I've raised the priority to urgent and {role} is looking at it now. Updates will be posted on {ticket}.",
        ],
        [
            (
                "Is there an SLA for this?",
                "On {plan}, urgent tickets get a first response within {duration}.",
            ),
        ],
    ),
    (
        "mobile",
        [
            "Is there an Android app for {product}?",
            "How do I log out of {product} on my phone?",
            "The iOS app is stuck on version {version}.",
        ],
        [
            "Yes, {product} is on Google Play and the App Store. Sign in with the same workspace URL.",
            "Open the app, {mobile}, then tap Sign out at the bottom.",
            "The latest is {version2}. Open the App Store, tap Updates and pull down to refresh.",
        ],
        [
            (
                "Does the app work offline?",
                "Offline Mode keeps the last {count} items; changes sync when you're back online.",
            ),
        ],
    ),
    (
        "onboarding",
        [
            "We just signed up for {plan}. Where should we start?",
            "Can we import projects from {integration}?",
            "Do you offer training for new admins?",
        ],
        [
            "Start with Settings > Integrations to connect {integration}, then invite your team under Admin > Members. The getting-started guide is at https://example.org/docs/getting-started.",
            "Yes: Settings > Data > Import, choose {integration} and map the fields. Imports of up to {count} thousand items take {duration}.",
            "Yes, {role} runs a free onboarding webinar every {day} at {hour} UTC; you can sign up from Help > Training.",
        ],
        [
            (
                "Is there a sandbox to try things?",
                "Enterprise includes Sandbox workspaces; you can copy settings from production with one click.",
            ),
        ],
    ),
]

GENERIC_FOLLOW_UPS: list[tuple[str, str]] = [
    ("Does that apply to the {plan} plan too?", "Yes, that works the same on {plan}."),
    ("How long does that usually take?", "Usually {duration}."),
    ("Is there a doc for this?", "Yes: {url}."),
    ("Can I do this from the mobile app?", "Yes: in the {product} app, {mobile}."),
    ("Which version do I need?", "{version} or later."),
    ("Does this need an admin?", "Yes, {role} or any workspace admin can do it."),
    ("Will this affect our {integration} integration?", "No, {integration} keeps working as before."),
    ("Can I undo it?", "Yes, within {duration}; after that {role} can help restore it."),
    ("ok, and where do I find {feature}?", "{feature} is under {path}."),
]
CLOSINGS: list[tuple[str, str]] = [
    ("Thanks, that worked.", "Glad it's sorted. I'll close {ticket}; reply here if anything comes up."),
    ("Perfect, thank you!", "You're welcome! Have a good {day}."),
    ("Great, all good now.", "Great to hear. {ticket} is marked as solved."),
    ("Got it, thanks.", "Anytime. Thanks for using {product}."),
    ("That's what I needed.", "Happy to help. {company}'s support team is here around the clock."),
]


def _fill(template: str, ctx: dict[str, str]) -> str:
    return template.format(**ctx)


def _user_turn(rng: random.Random, template: str, ctx: dict[str, str], *, first: bool = True) -> str:
    text = _fill(template, ctx)
    opener = _fill(rng.choice(USER_OPENERS), ctx) if first or rng.random() < 0.15 else ""
    closer = rng.choice(USER_CLOSERS) if first or rng.random() < 0.15 else ""
    body = text[0].upper() + text[1:]
    if opener and body[0].isupper() and not template.startswith("{") and not re.match(r"I\b", body):
        body = body[0].lower() + body[1:]
    turn = _sentence_case(f"{opener}{body}{closer}")
    # Some users type in lower case: product names must survive that too.
    return turn.lower() if rng.random() < 0.08 else turn


def _sentence_case(text: str) -> str:
    """Capitalise a sentence that starts with a generic role ("your account manager can ...")."""
    return re.sub(
        r"(^|[.!?] )(your|our|the|an|a) ", lambda m: m.group(1) + m.group(2).capitalize() + " ", text
    )


def _agent_turn(rng: random.Random, text: str, ctx: dict[str, str]) -> str:
    return _sentence_case(f"{rng.choice(AGENT_OPENERS)}{text}{_fill(rng.choice(AGENT_CLOSERS), ctx)}")


def make_record(rng: random.Random) -> dict[str, object]:
    """One benign support chat, its metadata naming the product, plan, topic and ticket."""
    topic, openings, answers, specific = rng.choice(TOPICS)
    ctx = _context(rng, topic)
    pick = rng.randrange(len(openings))
    answer = answers[pick] if pick < len(answers) else rng.choice(answers)
    messages = [
        {"role": "system", "content": _fill(rng.choice(SYSTEM_PROMPTS), ctx)},
        {"role": "user", "content": _user_turn(rng, openings[pick], ctx)},
        {"role": "assistant", "content": _agent_turn(rng, _fill(answer, ctx), ctx)},
    ]
    follow_ups = [*specific, *rng.sample(GENERIC_FOLLOW_UPS, 2)]
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        question, reply = follow_ups.pop(rng.randrange(len(follow_ups)))
        messages.append({"role": "user", "content": _user_turn(rng, question, ctx, first=False)})
        messages.append({"role": "assistant", "content": _sentence_case(_fill(reply, ctx))})
    if rng.random() < 0.4:
        thanks, reply = rng.choice(CLOSINGS)
        messages.append({"role": "user", "content": thanks})
        messages.append({"role": "assistant", "content": _sentence_case(_fill(reply, ctx))})
    metadata: dict[str, object] = {
        "ticket": ctx["ticket"],
        "channel": rng.choice(CHANNELS),
        "product": ctx["product"],
        "plan": ctx["plan"],
        "topic": topic,
        "priority": rng.choice(PRIORITIES),
    }
    if rng.random() < 0.3:
        tags = sorted({topic, "how-to", "bug", "billing", "feedback", ctx["tab"].lower()})
        metadata["tags"] = sorted(rng.sample(tags, 2))
    return {"messages": messages, "metadata": metadata}


def make_records(n: int = RECORDS, seed: int = SEED) -> list[dict[str, object]]:
    """`n` distinct benign chats, the same for the same seed."""
    rng = random.Random(seed)
    records: list[dict[str, object]] = []
    seen: set[str] = set()
    while len(records) < n:
        record = make_record(rng)
        key = json.dumps(record["messages"], sort_keys=True)
        if key not in seen:
            seen.add(key)
            records.append(record)
    return records


def to_jsonl(records: list[dict[str, object]]) -> str:
    """One record per line, UTF-8 text as written (no \\u escapes)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    text = to_jsonl(make_records(args.records, args.seed))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.records} records, {len(text.encode())} bytes, to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
