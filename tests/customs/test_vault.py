"""Keyed pseudonyms of phones and addresses: stable across spellings, never the clear value."""

from __future__ import annotations

import pytest

from customs.vault import Vault

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
