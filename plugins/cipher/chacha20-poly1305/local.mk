# plugins/cipher/chacha20-poly1305: ChaCha20-Poly1305 (RFC 8439) through GnuTLS.
if BUILD_GNUTLS
gossipplugin_LTLIBRARIES += plugins/cipher/chacha20-poly1305/gossip-cipher-chacha20-poly1305.la
plugins_cipher_chacha20_poly1305_gossip_cipher_chacha20_poly1305_la_SOURCES = \
	plugins/cipher/chacha20-poly1305/gossip-cipher-chacha20-poly1305.c \
	plugins/cipher/gnutls-aead.h
plugins_cipher_chacha20_poly1305_gossip_cipher_chacha20_poly1305_la_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
plugins_cipher_chacha20_poly1305_gossip_cipher_chacha20_poly1305_la_LDFLAGS = $(GOSSIP_PLUGIN_LINK_FLAGS)
plugins_cipher_chacha20_poly1305_gossip_cipher_chacha20_poly1305_la_LIBADD = $(GOSSIP_PLUGIN_LIBS) $(GNUTLS_LIBS)
endif
