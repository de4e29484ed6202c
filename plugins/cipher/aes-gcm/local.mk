# plugins/cipher/aes-gcm: AES-GCM (128/192/256-bit keys) through GnuTLS.
if BUILD_GNUTLS
gossipplugin_LTLIBRARIES += plugins/cipher/aes-gcm/gossip-cipher-aes-gcm.la
plugins_cipher_aes_gcm_gossip_cipher_aes_gcm_la_SOURCES = \
	plugins/cipher/aes-gcm/gossip-cipher-aes-gcm.c \
	plugins/cipher/gnutls-aead.h
plugins_cipher_aes_gcm_gossip_cipher_aes_gcm_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
plugins_cipher_aes_gcm_gossip_cipher_aes_gcm_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_cipher_aes_gcm_gossip_cipher_aes_gcm_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(GNUTLS_LIBS)
endif
