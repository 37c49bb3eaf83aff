"""Keyed pseudonyms of phones and addresses: stable across spellings, never the clear value."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import zlib

import pytest
from cryptography.fernet import Fernet

from customs import vault
from customs.vault import Vault, VaultError
from schemas import ids

VAULT = Vault.from_secret("a-vault-for-the-pseudonym-tests-0123456789")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("13800000000", "138 0000 0000"),
        ("13800000000", "+86 138-0000-0000"),
        ("13800000000", "8613800000000"),
    ],
)
def test_spellings_of_one_phone_share_a_key(one, other):
    assert VAULT.phone_key(one) == VAULT.phone_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("浙江省杭州市西湖区某路1号", "浙江省 杭州市 西湖区 某路 1 号"),
        ("浙江省杭州市西湖区某路1号", "浙江省杭州市西湖区某路１号。"),  # a full-width digit
        ("12 Harbour Road, Wan Chai", "12 harbour road wan chai"),
    ],
)
def test_spellings_of_one_address_share_a_key(one, other):
    assert VAULT.address_key(one) == VAULT.address_key(other)


@pytest.mark.parametrize(
    ("purpose", "value", "kept"),
    [
        ("phone", "13800000000", "13800000000"),  # digits only: kept whole
        ("phone", "+86 138-0000-0000", "13800000000"),
        ("address", "浙江省杭州市西湖区某路1号", "浙江省杭州市西湖区某路1号"),  # all alphanumeric
        ("address", "HarbourRoad12", "harbourroad12"),
        ("address", "12 Harbour Road, Wan Chai", "12harbourroadwanchai"),
    ],
)
def test_a_pseudonym_is_the_keyed_hash_of_the_purpose_and_the_kept_characters(purpose, value, kept):
    # what risk's history is keyed by: the same for the same data key, release after release
    expected = hmac.new(VAULT._mac_key, f"{purpose}|{kept}".encode(), hashlib.sha256).hexdigest()
    key = VAULT.phone_key(value) if purpose == "phone" else VAULT.address_key(value)
    assert key == expected


def test_different_values_get_different_keys_and_never_the_clear_value():
    phone = VAULT.phone_key("13800000000")
    assert phone is not None and "13800000000" not in phone
    assert phone != VAULT.phone_key("13900000000")
    assert VAULT.address_key("某路1号") != VAULT.address_key("某路2号")


def test_a_phone_an_address_and_a_buyer_with_the_same_text_do_not_share_a_key():
    keys = {VAULT.phone_key("123456"), VAULT.address_key("123456"), VAULT.buyer_key("1", "123456")}
    assert len(keys) == 3


def test_another_data_key_gives_other_pseudonyms():
    other = Vault.from_secret("another-vault-for-the-pseudonym-tests-987654")
    assert other.phone_key("13800000000") != VAULT.phone_key("13800000000")


@pytest.mark.parametrize("blank", ["", "  ", "--"])
def test_a_blank_value_has_no_key(blank):
    assert VAULT.phone_key(blank) is None
    assert VAULT.address_key(blank) is None


# --- encryption: Fernet tokens, written faster than Fernet.encrypt, read by Fernet -------------

HEAD = {"orderNo": "O1", "buyerName": "张三", "buyerIdNumber": "110101199003070012", "x": "1"}


def test_personal_fields_are_split_off_and_joined_again():
    public, token = VAULT.split(HEAD)
    assert public == {"orderNo": "O1", "x": "1"}
    assert token is not None and "张三" not in token and "110101199003070012" not in token
    assert VAULT.join(public, token) == HEAD
    assert VAULT.split({"orderNo": "O1"}) == ({"orderNo": "O1"}, None)


def _counting_opens(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The tokens every vault decrypts from now on (the vault is frozen: its class is patched)."""
    opened: list[bytes] = []
    real_open = Vault._open

    def counted(self: Vault, token: bytes) -> bytes:
        opened.append(token)
        return real_open(self, token)

    monkeypatch.setattr(Vault, "_open", counted)
    return opened


def test_fields_this_vault_sealed_a_moment_ago_are_joined_without_opening_the_token(monkeypatch):
    sealer = Vault.from_secret("a-vault-for-the-pseudonym-tests-0123456789")
    public, token = sealer.split(HEAD)
    assert token is not None
    opened = _counting_opens(monkeypatch)
    joined = sealer.join(public, token)
    assert joined == HEAD
    joined["buyerName"] = "changed"  # the caller's copy: what the vault remembers is not
    assert sealer.join(public, token) == HEAD
    assert opened == []
    # another process's vault (the same key) opens it from the token alone
    other = Vault.from_secret("a-vault-for-the-pseudonym-tests-0123456789")
    assert other.join(public, token) == HEAD
    assert opened == [token.encode()]


def test_a_vault_remembers_only_its_last_tokens_and_opens_older_ones(monkeypatch):
    monkeypatch.setattr(vault, "RECENT_TOKENS", 3)
    sealer = Vault.from_secret("a-vault-for-the-pseudonym-tests-0123456789")
    sealed = [sealer.split({**HEAD, "buyerName": f"买家{i}"}) for i in range(5)]
    assert len(sealer._recent) == 3
    opened = _counting_opens(monkeypatch)
    for i, (public, token) in enumerate(sealed):
        assert token is not None
        assert sealer.join(public, token)["buyerName"] == f"买家{i}"
    assert [t.decode() for t in opened] == [sealed[0][1], sealed[1][1]]  # the forgotten two


def test_a_changed_token_is_opened_and_refused_even_when_the_original_is_remembered():
    public, token = VAULT.split(HEAD)
    assert token is not None
    changed = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(VaultError):
        VAULT.join(public, changed)


FERNET = Fernet(
    base64.urlsafe_b64encode(
        vault._derive(b"a-vault-for-the-pseudonym-tests-0123456789", b"personal-data")
    )
)


def test_tokens_are_exactly_what_fernet_writes(monkeypatch):
    iv, moment = bytes(range(16)), 1_790_000_000
    monkeypatch.setattr(os, "urandom", lambda n: iv * (n // len(iv)))
    monkeypatch.setattr(ids, "_random", ids._Random())  # nothing read ahead yet
    monkeypatch.setattr(vault.time, "time", lambda: moment + 0.75)
    for data in (b"", b"x", b"0123456789abcdef", "中文".encode() * 50):
        compressed = zlib.compress(data, vault._BODY_COMPRESSION)
        expected = FERNET._encrypt_from_parts(compressed, moment, iv)
        assert VAULT.seal(data) == expected


def test_each_token_takes_a_fresh_iv_from_the_random_bytes_read_ahead_for_the_ids(monkeypatch):
    reads: list[int] = []
    system_urandom = os.urandom

    def urandom(n: int) -> bytes:
        reads.append(n)
        return system_urandom(n)

    monkeypatch.setattr(os, "urandom", urandom)
    monkeypatch.setattr(ids, "_random", ids._Random())
    tokens = [VAULT.seal(b"x") for _ in range(300)]
    ivs = {base64.urlsafe_b64decode(t)[9:25] for t in tokens}
    assert len(ivs) == 300  # none used twice
    assert reads == [ids.RANDOM_BUFFER, ids.RANDOM_BUFFER]  # 256 IVs a read


@pytest.mark.parametrize("key_size", [16, 32, 64, 65, 100])
@pytest.mark.parametrize("data_size", [0, 1, 63, 64, 200, 2047, 2048, 10_000])
def test_the_vault_s_hmac_is_hmac_sha256(key_size, data_size):
    key, data = os.urandom(key_size), os.urandom(data_size)
    assert vault._Hmac(key).digest(data) == hmac.digest(key, data, "sha256")


def test_what_fernet_opens_opens_and_what_it_refuses_is_refused():
    """The vault opens tokens itself (`Vault._open`): the same bytes as Fernet.decrypt for
    every token, and VaultError wherever Fernet raises InvalidToken."""
    from cryptography.fernet import InvalidToken

    good = [FERNET.encrypt(data) for data in (b"", b"x", b"0123456789abcdef", b"y" * 100)]
    candidates = list(good)
    for token in good:
        raw = bytearray(base64.urlsafe_b64decode(token))
        for position in (0, 1, 9, 24, 25, len(raw) - 33, len(raw) - 1):
            damaged = bytearray(raw)
            damaged[position] ^= 0x01
            candidates.append(base64.urlsafe_b64encode(bytes(damaged)))
        candidates += [
            base64.urlsafe_b64encode(bytes(raw[:-1])),  # cut short
            base64.urlsafe_b64encode(bytes(raw[:57])),  # no ciphertext
            base64.urlsafe_b64encode(bytes(raw) + b"\x00" * 16),  # a block too many
            token[:-3],  # not base64 any more
            token + b"!",
            b"",
        ]
    # tokens signed with the right key whose plaintext is padded wrongly
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    for block in (b"x" * 16, b"x" * 15 + b"\x00", b"x" * 14 + b"\x01\x02", b"x" * 15 + b"\x11"):
        iv = bytes(16)
        encryptor = Cipher(algorithms.AES(FERNET._encryption_key), modes.CBC(iv)).encryptor()
        signed = b"\x80" + bytes(8) + iv + encryptor.update(block) + encryptor.finalize()
        mac = hmac.new(FERNET._signing_key, signed, hashlib.sha256).digest()
        candidates.append(base64.urlsafe_b64encode(signed + mac))
    opened = refused = 0
    for candidate in candidates:
        try:
            expected = FERNET.decrypt(candidate)
        except InvalidToken:
            with pytest.raises(VaultError):
                VAULT.unseal(candidate)
            refused += 1
        else:
            assert VAULT.unseal(candidate) == expected
            opened += 1
    assert all(VAULT.unseal(token) == FERNET.decrypt(token) for token in good)
    assert refused >= 40 and opened + refused == len(candidates)  # what Fernet refuses, mostly


def test_tokens_open_with_plain_fernet_and_old_fernet_tokens_still_open():
    fernet_key = base64.urlsafe_b64encode(
        vault._derive(b"a-vault-for-the-pseudonym-tests-0123456789", b"personal-data")
    )
    body = b"<ceb:CEB311Message/>" * 100
    assert zlib.decompress(Fernet(fernet_key).decrypt(VAULT.seal(body), ttl=60)) == body
    assert VAULT.unseal(Fernet(fernet_key).encrypt(body)) == body  # sealed before compression
    old = Fernet(fernet_key).encrypt(json.dumps({"buyerName": "张三"}).encode()).decode()
    assert VAULT.join({"orderNo": "O1"}, old) == {"orderNo": "O1", "buyerName": "张三"}


MESSAGE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb">'
    + "".join(f"<ceb:Order><ceb:orderNo>O{n}</ceb:orderNo></ceb:Order>" for n in range(200))
    + "</ceb:CEB311Message>"
).encode()


@pytest.mark.parametrize(
    "body",
    [MESSAGE, b"\xef\xbb\xbf" + MESSAGE, b"\n  " + MESSAGE, MESSAGE[MESSAGE.index(b"<ceb") :]],
)
def test_a_message_body_is_sealed_compressed_and_one_sealed_as_it_was_still_opens(body):
    sealed = VAULT.seal(body)
    assert len(sealed) < len(body) / 4  # XML compresses: a fraction to encrypt and store
    assert VAULT.unseal(sealed) == body
    as_it_was = VAULT._token(body)  # how bodies were sealed before they were compressed
    assert len(as_it_was) > len(body) and VAULT.unseal(as_it_was) == body


def test_a_damaged_compressed_body_does_not_open():
    damaged = bytearray(zlib.compress(MESSAGE))
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(VaultError, match="damaged"):
        VAULT.unseal(VAULT._token(bytes(damaged)))


def test_a_damaged_token_or_another_key_does_not_open():
    sealed = bytearray(VAULT.seal(b"<body/>"))
    sealed[40] = ord("A") if sealed[40] != ord("A") else ord("B")
    with pytest.raises(VaultError):
        VAULT.unseal(bytes(sealed))
    other = Vault.from_secret("another-vault-for-the-pseudonym-tests-987654")
    with pytest.raises(VaultError):
        other.unseal(VAULT.seal(b"<body/>"))


def test_a_buyer_key_is_the_keyed_sha256_of_type_and_upper_case_number():
    expected = hmac.new(VAULT._mac_key, b"1:11010119900307001X", hashlib.sha256).hexdigest()
    assert VAULT.buyer_key("1", "11010119900307001x") == expected
