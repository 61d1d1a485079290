package io.plaza.platform;

/**
 * Marker for every command, reply, event and snapshot: bound to Jackson CBOR in serialization.conf, so nothing
 * reaches the wire or the journal through Java serialization.
 */
public interface CborSerializable {}
