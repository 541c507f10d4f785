"""Per-conversation data keys (bot/store/vault.py): what seals her words."""

from __future__ import annotations

import os
import zlib

from bot.store import keys, vault
from bot.store.privacy import Privacy
from bot.store.vault import Vault
from bot.testing.sealed import opened
from bot.testing.webchat import WebChat
from helpline.app import PIPELINE, PRIVACY

OLD, NEW = b"the-old-secret-key-0123456789abc", b"the-new-secret-key-0123456789abc"


async def test_an_item_opens_with_her_key_only_and_old_items_read_as_they_are(redis):
    vault = Vault(redis, Privacy(NEW), 60)
    hers, another = vault.new("her"), vault.new("another")
    sealed = hers.seal('{"text": "he has my passport"}')
    assert sealed.startswith(b"\x00") and b"passport" not in sealed
    assert hers.open(sealed) == '{"text": "he has my passport"}'
    assert another.open(sealed) is None
    assert hers.open(sealed[:-4] + b"AAAA") is None  # tampered with
    menu = "Reply with a number:\n" + "\n".join(f"{i}. Something to choose" for i in range(9))
    long = hers.seal(menu)  # deflated before sealing: shorter than the text itself
    assert hers.open(long) == menu and len(long) < len(menu.encode())
    assert (
        hers.open(b'{"text": "stored before data keys"}') == '{"text": "stored before data keys"}'
    )


async def test_a_short_entry_is_deflated_from_the_dictionary_and_old_seals_still_open(redis):
    """A transcript entry of 70 bytes seals in fewer than 70 (nonce and tag
    included): deflate starts from the dictionary of our JSON. Items sealed
    before it (deflated without it) open as they were."""
    hers = Vault(redis, Privacy(NEW), 60).new("her")
    entry = '{"id":"0a1b2c3d4e5f","from":"user","at":1796400419.123,"text":"yes"}'
    sealed = hers.seal(entry)
    assert hers.open(sealed) == entry and len(sealed) < len(entry)
    assert sealed[13:] != hers.seal(entry)[13:]  # a fresh nonce every time
    # as the code of 2026-12-03 sealed it: raw deflate without a dictionary
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = vault.DEFLATED + packer.compress(entry.encode() * 3) + packer.flush()
    nonce = os.urandom(12)
    old = vault.SEALED + nonce + hers._aead.encrypt(nonce, body, None)
    assert hers.open(old) == entry * 3


async def test_a_data_key_wrapped_under_a_rotated_secret_still_opens(redis):
    before = Vault(redis, Privacy(OLD), 60)
    await redis.set(keys.data_key("her"), before.new("her").wrapped)
    sealed = (await before.get("her")).seal("words")
    after = Vault(redis, Privacy(NEW, [OLD]), 60)
    assert (await after.get("her")).open(sealed) == "words"
    assert await Vault(redis, Privacy(NEW), 60).get("her") is None  # the old key is needed
    # bound to her conversation: another's wrapped key does not open as hers
    assert after.unwrap("another", await redis.get(keys.data_key("her"))) is None


async def test_a_process_with_a_stale_key_seals_with_the_stored_one(make_client, redis):
    """Another process created her key (or she left and came back): this
    process's remembered key is refused, and her message is sealed again."""
    client = await make_client()
    chat = WebChat(client)
    await chat.start()
    pid = client.app[PRIVACY].pid("web", chat.session)
    stored = await redis.get(keys.data_key(pid))
    client.app[PIPELINE].vault.new(pid)  # this process now remembers a key never stored
    assert await chat.say("1") != []
    assert await redis.get(keys.data_key(pid)) == stored
    entries = await opened(redis, client.app[PRIVACY], pid, keys.transcript)
    assert [e["text"] for e in entries if e["from"] == "user"][-1] == "1"
