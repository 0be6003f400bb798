# The config keys of the visitor's feedback and the call diagnosis:
# call.media_timeout, call.notice_interval and [voicemail], with their
# limits and cross-key rules. Runs under pytest and the MicroPython runner.

from intercom import config
from test_config import has_problem, problems_of, with_sections


def test_defaults():
    effective = config.validate(with_sections())
    assert effective["call"]["media_timeout"] == 30
    assert effective["call"]["notice_interval"] == 15
    assert effective["voicemail"] == {
        "prompt": "default",
        "record": False,
        "max_seconds": 30,
        "keep": 20,
        "folder": "messages",
    }


def test_the_media_timeout_is_off_or_at_least_five_seconds():
    for good in (0, 5, 3600):
        assert problems_of(with_sections(call={"media_timeout": good})) == []
    found = problems_of(with_sections(call={"media_timeout": 3}))
    assert has_problem(found, "door.toml: call.media_timeout:", "3 s is too short", "0 (off)")
    assert has_problem(
        problems_of(with_sections(call={"media_timeout": 3601})), "door.toml: call.media_timeout:"
    )


def test_the_listen_notice_cannot_be_turned_off_while_the_door_answers_calls():
    answering = {"answer_from": ["flat1"], "notice_interval": 0}
    found = problems_of(with_sections(call=answering))
    assert has_problem(found, "door.toml: call.notice_interval:", "answer_from", "listen")
    assert problems_of(with_sections(call={"notice_interval": 0})) == []  # nobody may call in
    assert problems_of(with_sections(call={"answer_from": ["flat1"], "notice_interval": 1})) == []
    assert has_problem(
        problems_of(with_sections(call={"notice_interval": 61})), "door.toml: call.notice_interval:"
    )


def test_the_prompt_is_default_tone_or_a_wav_file():
    for good in ("default", "tone", "prompts/ring.wav", "/srv/Nobody.WAV"):
        assert problems_of(with_sections(voicemail={"prompt": good})) == [], good
    found = problems_of(with_sections(voicemail={"prompt": "defualt"}))
    assert has_problem(found, "door.toml: voicemail.prompt:", "defualt", ".wav")


def test_voicemail_limits_and_unknown_keys():
    for key, bad in (("max_seconds", 4), ("max_seconds", 301), ("keep", 0), ("keep", 1001)):
        found = problems_of(with_sections(voicemail={key: bad}))
        assert has_problem(found, "door.toml: voicemail.%s:" % key), (key, bad)
    found = problems_of(with_sections(voicemail={"record": "yes"}))
    assert has_problem(found, "door.toml: voicemail.record:")
    found = problems_of(with_sections(voicemail={"recrod": True}))
    assert has_problem(found, "door.toml: voicemail.recrod:", "did you mean 'record'")


def test_a_pico_w_plays_the_prompt_but_records_nothing():
    pico = {"device": {"board": "pico_w"}, "wifi": {"ssid": "home"}}
    assert problems_of(with_sections(voicemail={"prompt": "nobody.wav"}, **pico)) == []
    found = problems_of(with_sections(voicemail={"record": True}, **pico))
    assert has_problem(found, "door.toml: voicemail.record:", "Pico W")
