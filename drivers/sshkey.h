/* A new SSH key pair for a machine, as Docker Machine makes one
 * (libmachine/ssh): RSA 2048, the private key PEM "RSA PRIVATE KEY"
 * (PKCS#1) at path (0600), the public key "ssh-rsa BASE64" at path.pub. */
#ifndef MFS_SSHKEY_H
#define MFS_SSHKEY_H

int sshkey_generate_rsa(const char *path, char *err);

#endif
