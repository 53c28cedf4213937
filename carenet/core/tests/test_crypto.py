from carenet.core import crypto


def test_round_trip_and_random_nonce():
    a = crypto.encrypt("120112201403041234", purpose="id_number")
    b = crypto.encrypt("120112201403041234", purpose="id_number")
    assert a != b
    assert "120112" not in a
    assert crypto.decrypt(a, purpose="id_number") == "120112201403041234"


def test_ciphertext_is_bound_to_its_purpose():
    import pytest
    from cryptography.exceptions import InvalidTag

    token = crypto.encrypt("6222020200112233445", purpose="bank_account")
    with pytest.raises(InvalidTag):
        crypto.decrypt(token, purpose="id_number")


def test_blind_index_is_stable_keyed_and_not_the_plain_hash():
    import hashlib

    h1 = crypto.blind_index("120112201403041234", purpose="id_number")
    assert h1 == crypto.blind_index("120112201403041234", purpose="id_number")
    assert h1 != hashlib.sha256(b"120112201403041234").hexdigest()
    assert crypto.blind_index("", purpose="id_number") is None
