"""The configuration file, as an operator meets it: what loads, and what each mistake says."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.config import Config, ConfigError, load_config, parse_config
from core.forms import FieldKind
from core.i18n import Text
from core.people import Role

EXAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "gongdan.example.yaml"

MINIMAL: dict[str, Any] = {
    "service": {"name": "Test desk"},
    "people": [
        {"id": "li.lei", "name": {"zh-CN": "李雷", "en": "Li Lei"}, "roles": ["agent", "lead"]},
        {"id": "han.meimei", "name": {"zh-CN": "韩梅梅"}, "roles": ["agent"]},
    ],
    "teams": [{"id": "it", "name": {"en": "IT"}, "members": ["han.meimei"], "lead": "li.lei"}],
    "ticket_types": [
        {
            "id": "it",
            "prefix": "IT",
            "name": {"zh-CN": "IT 服务台", "en": "IT help desk"},
            "default_team": "it",
        }
    ],
    "channels": {"webchat": {"rooms": [{"id": "helpdesk", "name": "Help", "ticket_type": "it"}]}},
}


def minimal(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def problems_of(data: dict[str, Any] | str, env: dict[str, str] | None = None) -> list[str]:
    text = data if isinstance(data, str) else dump(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env=env or {})
    return caught.value.problems


# --- the example file --------------------------------------------------------------------------


@pytest.fixture
def example() -> Config:
    return load_config(EXAMPLE, env={})


def test_example_file_sets_up_acme_shanghai(example: Config) -> None:
    assert example.service.name == "Acme 工单"
    assert example.service.timezone == "Asia/Shanghai"
    assert example.service.default_locale == "zh-CN"
    assert example.database.url == "sqlite+aiosqlite:///var/gongdan.db"
    assert example.summary() == (
        "Acme 工单: 10 people, 2 teams, 3 ticket types, channels: webchat, email (webchat: 3 rooms),"
        " database: sqlite"
    )


def test_example_directory_has_two_teams_under_one_manager(example: Config) -> None:
    directory = example.directory()
    it, facilities = directory.team("it"), directory.team("facilities")
    assert it is not None
    assert facilities is not None
    assert it.name == Text(en="IT Help Desk", zh="IT 服务台")
    assert facilities.name.get("zh-CN") == "行政后勤"
    assert (it.lead, facilities.lead) == ("li.lei", "wang.fang")
    assert it.manager == facilities.manager == "zhao.min"
    assert set(it.members) == {"han.meimei", "zhang.wei"}


def test_example_people_carry_roles_locales_and_channel_identities(example: Config) -> None:
    directory = example.directory()
    li = directory.by_identity("slack", "U024BE7LH")
    assert li is not None
    assert li.display("zh-CN") == "李雷"
    assert li.roles == frozenset({Role.AGENT, Role.LEAD})
    assert li.locale == "zh-CN"  # not set: the service default
    bob = directory.person("bob.smith")
    assert bob is not None
    assert (bob.locale, bob.timezone) == ("en", "Europe/London")
    assert bob.roles == frozenset({Role.REQUESTER})
    admin = directory.person("admin")
    assert admin is not None
    assert admin.is_admin
    # a quoted DingTalk id keeps its leading zero
    assert directory.by_identity("dingtalk", "0436254133") == directory.person("han.meimei")


def test_example_ticket_types_become_core_forms(example: Config) -> None:
    types = example.ticket_types()
    assert list(types) == ["it", "repair", "purchase"]
    assert [t.prefix for t in types.values()] == ["IT", "BX", "PR"]
    category = types["it"].field("category")
    assert category is not None
    assert category.kind is FieldKind.SELECT
    assert [o.value for o in category.options] == ["hardware", "software", "network", "account"]
    assert category.option_label("network") == Text(en="Network", zh="网络")
    repair = types["repair"]
    assert repair.default_team == "facilities"
    location, photos = repair.field("location"), repair.field("photos")
    assert location is not None
    assert location.required
    assert photos is not None
    assert (photos.kind, photos.max) == (FieldKind.ATTACHMENT, 5)
    purchase = types["purchase"]
    assert purchase.name == Text(en="Purchase request", zh="采购申请")
    assert purchase.default_priority == "normal"
    quantity, amount = purchase.field("quantity"), purchase.field("amount")
    assert quantity is not None
    assert amount is not None
    assert (quantity.required, quantity.min, amount.min) == (True, 1, 0)


def test_example_webchat_has_two_help_desks_and_a_general_room(example: Config) -> None:
    rooms = {r.id: r for r in example.channels.webchat.rooms}
    assert [(r.ticket_type, r.help_desk) for r in rooms.values()] == [
        ("it", True),
        ("repair", True),
        ("it", False),
    ]
    assert rooms["facilities"].name.zh == "行政报修"
    assert list(example.channels.enabled()) == ["webchat", "email"]


def test_example_works_with_dev_token_until_production_sets_one(example: Config) -> None:
    assert [(t.name, t.person) for t in example.api.tokens] == [("ops-console", "admin")]
    assert example.api.tokens[0].token == "dev-token-change-me-0123456789"
    production = load_config(EXAMPLE, env={"GONGDAN_API_TOKEN": "s3cret-s3cret-s3cret-42"})
    assert production.api.tokens[0].token == "s3cret-s3cret-s3cret-42"


def test_tokens_and_database_urls_stay_out_of_reprs(example: Config) -> None:
    assert "dev-token" not in repr(example)
    assert "gongdan.db" not in repr(example)


def test_example_outbox_uses_defaults(example: Config) -> None:
    outbox = example.outbox
    assert (outbox.max_attempts, outbox.base_backoff_s, outbox.max_backoff_s) == (12, 1.0, 300.0)
    assert outbox.rate_limits == {}


# --- defaults ----------------------------------------------------------------------------------


def test_minimal_file_gets_documented_defaults() -> None:
    config = parse_config(dump(MINIMAL), env={})
    assert (config.service.host, config.service.port) == ("127.0.0.1", 8080)
    assert config.service.base_url == "http://127.0.0.1:8080"
    assert config.service.shutdown_timeout_s == 20
    assert (config.service.header_timeout_s, config.service.body_timeout_s) == (10, 60)
    assert (config.service.keepalive_timeout_s, config.service.max_connections) == (75, 1000)
    assert config.database.backend == "sqlite"
    assert (config.logging.level, config.logging.format) == ("INFO", "text")
    assert config.api.tokens == ()
    assert config.channels.webchat.enabled
    assert config.channels.webchat.bot_name.zh == "工单助手"
    person = config.directory().person("han.meimei")
    assert person is not None
    assert person.name.get("en") == "韩梅梅"  # only a Chinese name: shown in both languages


def test_config_is_frozen() -> None:
    config = parse_config(dump(MINIMAL), env={})
    with pytest.raises(ValidationError):
        config.service.port = 9999


# --- interpolation -----------------------------------------------------------------------------

DB = "postgresql+asyncpg://gd:pw@db/gongdan"


def test_variable_is_read_from_environment() -> None:
    text = dump(minimal(database={"url": "${GONGDAN_DB}"}))
    assert parse_config(text, env={"GONGDAN_DB": DB}).database.url == DB


def test_default_applies_when_variable_is_unset_or_empty() -> None:
    text = dump(minimal(service={"name": "${DESK_NAME:-Acme 工单}", "port": "${PORT:-9090}"}))
    assert parse_config(text, env={}).service.name == "Acme 工单"
    assert parse_config(text, env={"DESK_NAME": ""}).service.port == 9090
    assert parse_config(text, env={"DESK_NAME": "Ops"}).service.name == "Ops"


def test_unset_variable_without_default_is_reported_at_its_key() -> None:
    assert problems_of(minimal(database={"url": "${GONGDAN_DB}"})) == [
        "database.url: environment variable GONGDAN_DB is not set"
    ]


def test_double_dollar_keeps_a_literal_dollar_brace() -> None:
    text = dump(minimal(service={"name": "cost $${AMOUNT} ${X:-ok}"}))
    assert parse_config(text, env={"AMOUNT": "9"}).service.name == "cost ${AMOUNT} ok"


def test_unterminated_reference_is_reported() -> None:
    assert problems_of(minimal(service={"name": "a ${oops"})) == [
        "service.name: '${' must be followed by a variable name and '}' (write '$${' for a literal '${')"
    ]


# --- environment overrides ---------------------------------------------------------------------


def test_named_variables_override_their_keys() -> None:
    env = {
        "GONGDAN_DATABASE_URL": DB,
        "GONGDAN_HOST": "0.0.0.0",
        "GONGDAN_PORT": "9000",
        "GONGDAN_LOG_LEVEL": "debug",
        "GONGDAN_BASE_URL": "https://gongdan.acme.example/",
    }
    config = parse_config(dump(MINIMAL), env=env)
    assert config.database.url == DB
    assert config.database.backend == "postgresql"
    assert (config.service.host, config.service.port) == ("0.0.0.0", 9000)
    assert config.logging.level == "DEBUG"
    assert config.service.base_url == "https://gongdan.acme.example"


def test_override_wins_over_the_file_and_its_interpolation() -> None:
    text = dump(minimal(database={"url": "${GONGDAN_DATABASE_URL:-sqlite+aiosqlite:///x.db}"}))
    assert parse_config(text, env={}).database.url == "sqlite+aiosqlite:///x.db"
    assert parse_config(text, env={"GONGDAN_DATABASE_URL": DB}).database.url == DB


def test_double_underscore_variables_reach_any_key() -> None:
    env = {
        "GONGDAN_CHANNELS__WEBCHAT__ENABLED": "false",
        "GONGDAN_Outbox__Max_Attempts": "3",
        "GONGDAN_OUTBOX__RATE_LIMITS__SLACK": "1.5",
        "GONGDAN_LOGGING__FORMAT": "json",
    }
    config = parse_config(dump(MINIMAL), env=env)
    assert not config.channels.webchat.enabled
    assert config.channels.enabled() == {}
    assert config.outbox.max_attempts == 3
    assert config.outbox.rate_limits == {"slack": 1.5}
    assert config.logging.format == "json"


def test_short_name_wins_over_the_generic_form() -> None:
    env = {"GONGDAN_SERVICE__PORT": "7000", "GONGDAN_PORT": "7001"}
    assert parse_config(dump(MINIMAL), env=env).service.port == 7001


def test_other_gongdan_variables_are_not_overrides() -> None:
    env = {"GONGDAN_API_TOKEN": "x" * 20, "GONGDAN_TEST_PG_URL": DB, "GONGDAN_CONFIG": "a.yaml"}
    config = parse_config(dump(MINIMAL), env=env)
    assert config.api.tokens == ()
    assert config.database.backend == "sqlite"


def test_override_of_unknown_section_is_reported() -> None:
    assert problems_of(MINIMAL, env={"GONGDAN_SERVCE__PORT": "1"}) == [
        "GONGDAN_SERVCE__PORT: 'servce' is not a config section (sections: service, database,"
        " logging, api, attachments, people, teams, ticket_types, channels, outbox, conversation, calendars, sla_policies,"
        " escalation_chains, rotations)"
    ]


def test_bad_override_value_names_the_variable_that_set_it() -> None:
    assert problems_of(MINIMAL, env={"GONGDAN_PORT": "eighty"}) == [
        "service.port: must be a whole number (got 'eighty') (set by GONGDAN_PORT)"
    ]


def test_double_underscore_form_can_index_into_lists() -> None:
    env = {"GONGDAN_PEOPLE__1__EMAIL": "han@acme.example", "GONGDAN_PEOPLE__9__EMAIL": "x@y.z"}
    assert problems_of(MINIMAL, env=env) == ["GONGDAN_PEOPLE__9__EMAIL: people has no item 9"]
    del env["GONGDAN_PEOPLE__9__EMAIL"]
    person = parse_config(dump(MINIMAL), env=env).directory().person("han.meimei")
    assert person is not None
    assert person.email == "han@acme.example"


# --- what each mistake says --------------------------------------------------------------------


def test_unknown_key_suggests_the_close_one() -> None:
    assert problems_of(minimal(service={"name": "x", "prot": 80})) == [
        "service.prot: unknown key (did you mean 'port'?)"
    ]


def test_unknown_key_lists_what_is_allowed() -> None:
    assert problems_of(minimal(logging={"colour": True})) == [
        "logging.colour: unknown key (allowed: level, format)"
    ]


def test_unknown_section_and_unknown_channel_are_reported_as_unknown() -> None:
    data = minimal(sla={"first_response": "1h"})
    data["channels"]["msteams"] = {"enabled": True}
    assert problems_of(data) == [
        "channels.msteams: unknown key (allowed: webchat, slack, email, dingtalk, wecom)",
        "sla: unknown key (allowed: service, database, logging, api, attachments, people, teams,"
        " ticket_types, channels, outbox, conversation, calendars, sla_policies,"
        " escalation_chains, rotations)",
    ]


def test_team_lead_must_be_a_known_person() -> None:
    data = minimal()
    data["teams"].append({"id": "facilities", "name": "Facilities", "lead": "wang.wu"})
    assert problems_of(data) == [
        "teams[1].lead: unknown person 'wang.wu' (known: li.lei, han.meimei)"
    ]


def test_long_lists_of_known_people_are_cut_short() -> None:
    data = minimal(people=[{"id": f"p{i}", "name": f"P{i}"} for i in range(7)])
    data["teams"][0]["members"] = ["p1", "nobody"]
    data["teams"][0]["lead"] = "p0"
    assert problems_of(data) == [
        "teams[0].members[1]: unknown person 'nobody' (known: p0, p1, p2, p3, p4, ...)"
    ]


def test_room_ticket_type_must_exist() -> None:
    data = minimal()
    data["channels"]["webchat"]["rooms"][0]["ticket_type"] = "itt"
    assert problems_of(data) == ["channels.webchat.rooms[0].ticket_type: unknown ticket type 'itt'"]


def test_ticket_type_default_team_must_exist() -> None:
    data = minimal()
    data["ticket_types"][0]["default_team"] = "helpdesk"
    assert problems_of(data) == [
        "ticket_types[0].default_team: unknown team 'helpdesk' (known: it)"
    ]


def test_api_token_person_must_exist_and_token_is_never_echoed() -> None:
    secret = "abcdefghijklmnopqrstuvwxyz"
    data = minimal(
        api={
            "tokens": [
                {"name": "ci", "token": secret, "person": "li.lei"},
                {"name": "ci", "token": secret, "person": "root"},
                {"name": "short", "token": "tooshort", "person": "li.lei"},
            ]
        }
    )
    problems = problems_of(data)
    assert problems == [
        "api.tokens[2].token: must be at least 16 characters long",
        "api.tokens[1].name: duplicate token name 'ci' (already used by api.tokens[0])",
        "api.tokens[1].token: same token as api.tokens[0]; each client needs its own",
        "api.tokens[1].person: unknown person 'root' (known: li.lei, han.meimei)",
    ]
    assert not any(secret in p or "tooshort" in p for p in problems)


def test_duplicate_ids_are_reported_in_every_section() -> None:
    data = minimal()
    data["people"].append({"id": "li.lei", "name": "Another Li Lei"})
    data["teams"].append({"id": "it", "name": "IT again"})
    data["ticket_types"].append({"id": "it", "prefix": "IT", "name": "IT again"})
    data["ticket_types"][0]["fields"] = [
        {"id": "location", "kind": "text", "label": "Where"},
        {"id": "location", "kind": "text", "label": "Where again"},
    ]
    data["channels"]["webchat"]["rooms"].append(
        {"id": "helpdesk", "name": "x", "ticket_type": "it"}
    )
    assert problems_of(data) == [
        "people[2].id: duplicate id 'li.lei' (already used by people[0])",
        "teams[1].id: duplicate id 'it' (already used by teams[0])",
        "ticket_types[1].id: duplicate id 'it' (already used by ticket_types[0])",
        "ticket_types[1].prefix: duplicate prefix 'IT' (already used by ticket_types[0])",
        "ticket_types[0].fields[1].id: duplicate field id 'location'"
        " (already used by ticket_types[0].fields[0])",
        "channels.webchat.rooms[1].id: duplicate room id 'helpdesk'"
        " (already used by channels.webchat.rooms[0])",
    ]


def test_one_channel_identity_cannot_belong_to_two_people() -> None:
    data = minimal()
    data["people"][0]["identities"] = {"wecom": "LiLei"}
    data["people"][1]["identities"] = {"wecom": "LiLei", "dingtak": "1"}
    assert problems_of(data) == [
        "people[1].identities.dingtak: the key must be 'slack', 'dingtalk', 'wecom', 'email' or"
        " 'webchat' (got 'dingtak')",
        "people[1].identities.wecom: 'LiLei' is already the wecom identity of li.lei",
    ]


def test_form_fields_are_checked_against_their_kind() -> None:
    data = minimal()
    data["ticket_types"][0]["fields"] = [
        {"id": "category", "kind": "select", "label": "Category"},
        {"id": "room", "kind": "text", "label": "Room", "options": [{"value": "a", "label": "A"}]},
        {"id": "size", "kind": "number", "label": "Size", "min": 10, "max": 1},
        {"id": "title", "kind": "text", "label": "Title"},
        {"id": "colour", "kind": "colour", "label": "Colour"},
        {
            "id": "tags",
            "kind": "multi_select",
            "label": "Tags",
            "options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}],
        },
    ]
    assert problems_of(data) == [
        "ticket_types[0].fields[0].options: a select field needs at least one option",
        "ticket_types[0].fields[1].options: only select and multi_select fields take options,"
        " not text",
        "ticket_types[0].fields[2].max: must not be less than min (10)",
        "ticket_types[0].fields[3].id: 'title' is built into every ticket; choose another field id",
        "ticket_types[0].fields[4].kind: must be 'text', 'long_text', 'number', 'select',"
        " 'multi_select', 'date', 'person' or 'attachment' (got 'colour')",
        "ticket_types[0].fields[5].options: duplicate option value 'a'",
    ]


def test_ids_and_prefixes_must_follow_their_patterns() -> None:
    data = minimal()
    data["people"][0]["id"] = "Li Lei"
    data["teams"][0]["lead"] = "Li Lei"
    data["ticket_types"][0].update(id="IT", prefix="it-desk")
    data["channels"]["webchat"]["rooms"][0]["ticket_type"] = "IT"
    assert problems_of(data) == [
        "people[0].id: 'Li Lei' is not allowed: use lowercase letters, digits, '.', '_' or '-',"
        " starting with a letter or digit",
        "ticket_types[0].id: 'IT' is not allowed: use lowercase letters, digits, '_' or '-',"
        " starting with a letter",
        "ticket_types[0].prefix: 'it-desk' is not allowed: use 1 to 10 capital letters or"
        " digits, starting with a letter",
    ]


def test_service_values_are_checked() -> None:
    data = minimal(
        service={
            "name": "",
            "port": 70000,
            "base_url": "gongdan.acme.example",
            "default_locale": "fr",
            "timezone": "Asia/Shangai",
            "shutdown_timeout_s": -1,
        },
        logging={"level": "verbose"},
    )
    data["people"][1]["name"] = {}
    assert problems_of(data) == [
        "service.name: must not be empty",
        "service.port: must be at most 65535",
        "service.base_url: 'gongdan.acme.example' must be an http:// or https:// URL",
        "service.default_locale: must be 'zh-CN' or 'en' (got 'fr')",
        "service.timezone: unknown time zone 'Asia/Shangai' (use an IANA name such as Asia/Shanghai)",
        "service.shutdown_timeout_s: must be at least 0",
        "logging.level: must be 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (got 'VERBOSE')",
        "people[1].name: give the text in zh-CN, en or both",
    ]


def test_database_url_must_use_an_async_driver_without_echoing_the_password() -> None:
    problems = problems_of(minimal(database={"url": "postgresql://gd:hunter2@db/gongdan"}))
    assert problems == [
        "database.url: must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        " (got 'postgresql')"
    ]


def test_outbox_values_are_checked() -> None:
    data = minimal(
        outbox={
            "max_attempts": 0,
            "base_backoff_s": 10,
            "max_backoff_s": 5,
            "rate_limits": {"slack": 0, "teams": 1},
        }
    )
    assert problems_of(data) == [
        "outbox.max_attempts: must be at least 1",
        "outbox.max_backoff_s: must not be less than base_backoff_s (10)",
        "outbox.rate_limits.slack: must be greater than 0",
        "outbox.rate_limits.teams: the key must be 'slack', 'dingtalk', 'wecom', 'email' or"
        " 'webchat' (got 'teams')",
    ]


def test_wrong_shapes_say_what_was_expected() -> None:
    data = minimal(people={"li.lei": "Li Lei"})
    data["service"]["port"] = [80]
    data["channels"]["webchat"]["enabled"] = "maybe"
    assert problems_of(data) == [
        "service.port: must be a whole number (got a list)",
        "people: must be a list (got a mapping)",
        "channels.webchat.enabled: must be true or false (got 'maybe')",
    ]


def test_at_least_one_ticket_type_is_needed() -> None:
    assert problems_of(minimal(ticket_types=[], channels={})) == [
        "ticket_types: define at least one ticket type"
    ]
    no_types = minimal(channels={})
    del no_types["ticket_types"]
    assert problems_of(no_types) == ["ticket_types: required key is missing"]


def test_all_problems_are_reported_together() -> None:
    data = minimal(database={"url": "${GONGDAN_DB}"}, logging={"level": "LOUD"})
    data["service"]["colour"] = "red"
    data["teams"][0]["lead"] = "wang.wu"
    data["channels"]["webchat"]["rooms"][0]["ticket_type"] = "itt"
    problems = problems_of(data, env={"GONGDAN_PORT": "x"})
    assert problems == [
        "database.url: environment variable GONGDAN_DB is not set",
        "service.port: must be a whole number (got 'x') (set by GONGDAN_PORT)",
        "service.colour: unknown key (allowed: name, host, port, base_url, default_locale,"
        " timezone, shutdown_timeout_s, header_timeout_s, body_timeout_s, keepalive_timeout_s,"
        " max_connections)",
        "logging.level: must be 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (got 'LOUD')",
        "teams[0].lead: unknown person 'wang.wu' (known: li.lei, han.meimei)",
        "channels.webchat.rooms[0].ticket_type: unknown ticket type 'itt'",
    ]


def test_error_message_lists_every_problem_under_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "gongdan.yaml"
    path.write_text(dump(minimal(service={"name": "x", "port": "y"}, logging={"x": 1})))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(caught.value) == (
        f"{path}: 2 problems\n"
        "  service.port: must be a whole number (got 'y')\n"
        "  logging.x: unknown key (allowed: level, format)"
    )


# --- files that cannot be read as YAML ---------------------------------------------------------


def test_yaml_syntax_error_names_line_and_column() -> None:
    text = "service:\n  name: x\n  port: [8080\nticket_types: []\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={}, source="gongdan.yaml")
    assert caught.value.problems == [
        "gongdan.yaml: invalid YAML at line 4, column 13: expected ',' or ']', but got ':'"
    ]


def test_repeated_yaml_key_is_an_error_not_a_silent_override() -> None:
    text = "service:\n  name: x\n  port: 80\n  port: 81\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={}, source="gongdan.yaml")
    assert caught.value.problems == [
        "gongdan.yaml: invalid YAML at line 4, column 3: duplicate key 'port'"
    ]


def test_top_level_must_be_a_mapping() -> None:
    assert problems_of("- service\n- people\n") == [
        "<string>: the top level must be a mapping of sections (service, database, logging,"
        " api, attachments, people, teams, ticket_types, channels, outbox, conversation, calendars, sla_policies,"
        " escalation_chains, rotations)"
    ]


def test_empty_file_asks_for_the_required_sections() -> None:
    assert problems_of("") == [
        "service: required key is missing",
        "ticket_types: required key is missing",
    ]


def test_missing_file_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.problems == [f"{path}: cannot read file: No such file or directory"]


def test_file_that_is_not_utf8_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes("service: {name: 工单}\n".encode("gbk"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.problems == [f"{path}: not UTF-8 text (invalid start byte at byte 16)"]


# --- building a Config in code -----------------------------------------------------------------


def test_config_built_in_code_still_checks_references() -> None:
    data = minimal()
    data["teams"][0]["lead"] = "ghost"
    with pytest.raises(ValidationError, match=re.escape("teams[0].lead: unknown person 'ghost'")):
        Config.model_validate(data)


def test_slack_names_the_secret_its_mode_needs() -> None:
    data = minimal()
    data["channels"]["slack"] = {"mode": "socket", "bot_token": "xoxb-1"}
    assert problems_of(data) == [
        "channels.slack.app_token: required when mode is socket"
        " (find it in your Slack app's App-Level Tokens)"
    ]


def test_an_unknown_dingtalk_mode_names_the_key_and_the_choices() -> None:
    data = minimal()
    data["channels"]["dingtalk"] = {"client_id": "a", "client_secret": "b", "mode": "webhook"}
    assert problems_of(data) == [
        "channels.dingtalk.mode: must be 'stream' or 'http' (got 'webhook')"
    ]
