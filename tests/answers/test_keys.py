"""A private key is recognised by parsing it; the usual mistakes are named, never the key's content."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from installer.keys import private_key_file_problem, private_key_problem


def openssh_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("text", [
    openssh_key(),
    rsa.generate_private_key(65537, 2048).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                        serialization.NoEncryption()).decode(),
    ec.generate_private_key(ec.SECP256R1()).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()).decode(),
], ids=["openssh-ed25519", "pem-rsa", "pkcs8-ec"])
def test_real_private_keys_pass(text):
    assert private_key_problem(text) is None
    assert private_key_problem(text.replace("\n", "\r\n")) is None


def test_a_key_cut_to_its_first_line_is_refused():
    first_line = openssh_key().splitlines()[0]
    assert "cut short" in private_key_problem(first_line)


def test_a_damaged_key_a_public_key_and_an_encrypted_key_are_refused():
    text = openssh_key()
    lines = text.splitlines()
    lines[2] = lines[2][:10] + ("A" if lines[2][10] != "A" else "B") * 20 + lines[2][30:]
    assert "does not parse" in private_key_problem("\n".join(lines))
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                                             serialization.PublicFormat.OpenSSH).decode()
    assert "public key" in private_key_problem(public + " ops@laptop\n")
    locked = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.BestAvailableEncryption(b"pw")).decode()
    assert "passphrase" in private_key_problem(locked)
    assert "not a private key" in private_key_problem("not a real key\n")
    assert private_key_problem("") == "it is empty"


def test_file_messages_name_the_file_and_never_the_content(tmp_path):
    path = tmp_path / "deploy"
    assert "does not exist" in private_key_file_problem(path)
    path.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nCANARYb3BlbnNzaC1rZXktdjEAAAA\n")
    problem = private_key_file_problem(path)
    assert str(path) in problem and "CANARY" not in problem
    path.write_text(openssh_key())
    assert private_key_file_problem(path) is None
