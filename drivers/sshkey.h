/* A new SSH key pair for a machine, as Docker Machine makes one
 * (libmachine/ssh): RSA 2048, the private key PEM "RSA PRIVATE KEY"
 * (PKCS#1) at path (0600), the public key "ssh-rsa BASE64" at path.pub. */
#ifndef MFS_SSHKEY_H
#define MFS_SSHKEY_H

int sshkey_generate_rsa(const char *path, char *err);

/* A new ed25519 key pair (the machine key of the cloud drivers: libssh2
 * 1.10 signs RSA only with SHA-1, which current OpenSSH refuses), made by
 * ssh-keygen (openssh-client): OpenSSH private key at path (0600), the
 * public key "ssh-ed25519 BASE64 comment" at path.pub. Replaces any. */
int sshkey_generate_ed25519(const char *path, const char *comment, char *err);

#endif
