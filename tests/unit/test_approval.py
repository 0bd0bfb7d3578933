"""The approval policy's rules, called directly with unsaved documents (no database)."""

from __future__ import annotations

import logging

import pytest

from models.base import utcnow
from models.conferences import ApprovalPolicy, Conference
from models.registrations import Registration
from services.approval import Verdict, may_ask_plugins, plugin_rules_on, policy_verdict


class Spy:
    """A rule's callable that answers ``value`` and counts its calls."""

    def __init__(self, value):
        self.value = value
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


def conference(mode="rules", **policy) -> Conference:
    return Conference(tenant_id="t1", title="PyCon", slug="pycon", created_by="u1",
                      policy=ApprovalPolicy(mode=mode, **policy))


def registration(email="ada@example.org", invite_code=None) -> Registration:
    return Registration(tenant_id="t1", conference_id="c1", email=email, invite_code=invite_code,
                        seq=1, registered_by="u1", created_at=utcnow())


def verdict(conf, reg, *, invite=False, plugins=None):
    """The verdict, and the spies that stood for the invite check and the plugins."""
    invite_valid, ask_plugins = Spy(invite), Spy(plugins)
    return (policy_verdict(conf, reg, invite_valid=invite_valid, ask_plugins=ask_plugins),
            invite_valid, ask_plugins)


# --- the modes ---------------------------------------------------------------------------


def test_automatic_approves_without_asking_anything():
    said, invite, plugins = verdict(conference("automatic", plugin_rules=True),
                                    registration(invite_code="code"), invite=True,
                                    plugins=("p", "reject"))
    assert said == Verdict("approve", "", "policy")
    assert (invite.calls, plugins.calls) == (0, 0)


def test_manual_waits_for_staff_without_asking_anything():
    said, invite, plugins = verdict(conference("manual", plugin_rules=True),
                                    registration(invite_code="code"), invite=True,
                                    plugins=("p", "approve"))
    assert said == Verdict("wait", "Awaiting a staff decision.", "policy")
    assert (invite.calls, plugins.calls) == (0, 0)


# --- rules: email domain, invite code ----------------------------------------------------


def test_an_allowed_email_domain_approves_before_the_invite_and_the_plugins():
    said, invite, plugins = verdict(
        conference(email_domains=["example.org"], plugin_rules=True),
        registration(email="Ada@Example.ORG", invite_code="code"), invite=True,
        plugins=("p", "reject"))
    assert said == Verdict("approve", "Email domain example.org is allowed.", "rules")
    assert invite.calls == 0, "the invite must not be spent when the domain decides"
    assert plugins.calls == 0


def test_another_email_domain_is_not_allowed():
    said, _, _ = verdict(conference(email_domains=["example.org"]),
                         registration(email="ada@example.org.evil.com"))
    assert said == Verdict("wait", "No approval rule matched. Awaiting a staff decision.", "rules")


def test_no_email_never_matches_a_domain():
    said, _, _ = verdict(conference(email_domains=[""], rules_fallback="reject"),
                         registration(email=None))
    assert said == Verdict("reject", "No approval rule matched.", "rules")


def test_a_valid_invite_approves_before_the_plugins():
    said, invite, plugins = verdict(conference(email_domains=["example.com"], plugin_rules=True),
                                    registration(invite_code="code"), invite=True,
                                    plugins=("p", "reject"))
    assert said == Verdict("approve", "Valid invite code.", "rules")
    assert invite.calls == 1
    assert plugins.calls == 0


def test_an_invalid_invite_falls_back_to_staff():
    said, invite, _ = verdict(conference(), registration(invite_code="spent"), invite=False)
    assert said == Verdict(
        "wait", "The invite code is not valid or has been used up. Awaiting a staff decision.",
        "rules")
    assert invite.calls == 1


def test_an_invalid_invite_falls_back_to_rejection():
    said, invite, _ = verdict(conference(rules_fallback="reject"),
                              registration(invite_code="spent"), invite=False)
    assert said == Verdict("reject", "The invite code is not valid or has been used up.", "rules")
    assert invite.calls == 1


def test_without_an_invite_code_the_invite_is_not_checked():
    said, invite, _ = verdict(conference(rules_fallback="reject"), registration(invite_code=None),
                              invite=True)
    assert said == Verdict("reject", "No approval rule matched.", "rules")
    assert invite.calls == 0


# --- rules: plugins ----------------------------------------------------------------------


def test_a_plugin_approves():
    said, _, plugins = verdict(conference(plugin_rules=True), registration(),
                               plugins=("vetting", "approve"))
    assert said == Verdict("approve", "Decided by plugin vetting.", "plugin:vetting")
    assert plugins.calls == 1


def test_a_plugin_rejects():
    said, _, _ = verdict(conference(plugin_rules=True), registration(),
                         plugins=("blocklist", "reject"))
    assert said == Verdict("reject", "Decided by plugin blocklist.", "plugin:blocklist")


def test_a_plugin_gives_its_reason_in_a_tuple():
    said, _, _ = verdict(conference(plugin_rules=True), registration(),
                         plugins=("blocklist", ("reject", "This address may not register.")))
    assert said == Verdict("reject", "This address may not register.", "plugin:blocklist")


def test_a_plugins_empty_reason_is_replaced():
    said, _, _ = verdict(conference(plugin_rules=True), registration(),
                         plugins=("vetting", ("approve", "")))
    assert said == Verdict("approve", "Decided by plugin vetting.", "plugin:vetting")


def test_no_plugin_answer_falls_back():
    said, _, plugins = verdict(conference(plugin_rules=True, rules_fallback="reject"),
                               registration(), plugins=None)
    assert said == Verdict("reject", "No approval rule matched.", "rules")
    assert plugins.calls == 1


@pytest.mark.parametrize("answer", ["maybe", ("later", "why not"), 42, ("approve",),
                                    ("reject", "why", "extra")])
def test_a_garbage_answer_is_ignored_and_logged(answer, caplog):
    with caplog.at_level(logging.WARNING, logger="services.approval"):
        said, _, plugins = verdict(conference(plugin_rules=True), registration(),
                                   plugins=("odd", answer))
    assert said == Verdict("wait", "No approval rule matched. Awaiting a staff decision.", "rules")
    assert plugins.calls == 1
    assert any("plugin odd answered" in record.getMessage() for record in caplog.records)


def test_plugins_are_not_asked_when_plugin_rules_are_off():
    said, _, plugins = verdict(conference(plugin_rules=False), registration(),
                               plugins=("vetting", "approve"))
    assert said == Verdict("wait", "No approval rule matched. Awaiting a staff decision.", "rules")
    assert plugins.calls == 0


def test_plugins_are_asked_after_an_invalid_invite():
    said, invite, plugins = verdict(conference(plugin_rules=True),
                                    registration(invite_code="spent"), invite=False,
                                    plugins=("vetting", "approve"))
    assert said == Verdict("approve", "Decided by plugin vetting.", "plugin:vetting")
    assert (invite.calls, plugins.calls) == (1, 1)


# --- who the plugins are asked about (before the conference's lock) ----------------------


def test_plugin_rules_are_on_only_for_rules_with_plugin_rules():
    assert plugin_rules_on(conference("rules", plugin_rules=True).policy)
    assert not plugin_rules_on(conference("rules", plugin_rules=False).policy)
    assert not plugin_rules_on(conference("automatic", plugin_rules=True).policy)
    assert not plugin_rules_on(conference("manual", plugin_rules=True).policy)


def test_plugins_are_asked_about_those_the_domain_rule_does_not_decide():
    conf = conference(plugin_rules=True, email_domains=["example.org"])
    assert not may_ask_plugins(conf, registration(email="ada@EXAMPLE.org"))
    assert may_ask_plugins(conf, registration(email="ada@example.com"))
    assert may_ask_plugins(conf, registration(email=None))
    # Whether an invite is valid is only known by spending it: its bearer is asked about too.
    assert may_ask_plugins(conf, registration(email="ada@example.com", invite_code="code"))
    assert not may_ask_plugins(conference(plugin_rules=False), registration())
    assert not may_ask_plugins(conference("automatic", plugin_rules=True), registration())
