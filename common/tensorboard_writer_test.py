"""Reads back the event file tensorboard_writer_sample wrote, with a reader of its own.

Independent of the writer: its own CRC-32C (bit by bit, not a table), its own TFRecord parsing,
and the Event/Summary messages defined here from TensorFlow's field numbers with Debian's
python3-protobuf (not compiled from proto/tensorboard.proto). Checks every record's length and
data CRCs, the version event, and each tag, step, wall time, value and image.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool

try:
    from google.protobuf.message_factory import GetMessageClass
except ImportError:  # protobuf < 4.21
    from google.protobuf import message_factory

    def GetMessageClass(descriptor):
        return message_factory.MessageFactory().GetPrototype(descriptor)


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tf_messages():
    """tensorflow.Event and tensorflow.Summary as event.proto and summary.proto number them."""
    f = descriptor_pb2.FileDescriptorProto(name="tf_event_subset.proto", package="tensorflow",
                                           syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto
    summary = f.message_type.add(name="Summary")
    image = summary.nested_type.add(name="Image")
    image.field.add(name="height", number=1, type=T.TYPE_INT32, label=T.LABEL_OPTIONAL)
    image.field.add(name="width", number=2, type=T.TYPE_INT32, label=T.LABEL_OPTIONAL)
    image.field.add(name="colorspace", number=3, type=T.TYPE_INT32, label=T.LABEL_OPTIONAL)
    image.field.add(name="encoded_image_string", number=4, type=T.TYPE_BYTES,
                    label=T.LABEL_OPTIONAL)
    value = summary.nested_type.add(name="Value")
    value.oneof_decl.add(name="value")
    value.field.add(name="node_name", number=7, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    value.field.add(name="tag", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    value.field.add(name="simple_value", number=2, type=T.TYPE_FLOAT, label=T.LABEL_OPTIONAL,
                    oneof_index=0)
    value.field.add(name="image", number=4, type=T.TYPE_MESSAGE, label=T.LABEL_OPTIONAL,
                    type_name=".tensorflow.Summary.Image", oneof_index=0)
    summary.field.add(name="value", number=1, type=T.TYPE_MESSAGE, label=T.LABEL_REPEATED,
                      type_name=".tensorflow.Summary.Value")
    event = f.message_type.add(name="Event")
    event.oneof_decl.add(name="what")
    event.field.add(name="wall_time", number=1, type=T.TYPE_DOUBLE, label=T.LABEL_OPTIONAL)
    event.field.add(name="step", number=2, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
    event.field.add(name="file_version", number=3, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL,
                    oneof_index=0)
    event.field.add(name="graph_def", number=4, type=T.TYPE_BYTES, label=T.LABEL_OPTIONAL,
                    oneof_index=0)
    event.field.add(name="summary", number=5, type=T.TYPE_MESSAGE, label=T.LABEL_OPTIONAL,
                    type_name=".tensorflow.Summary", oneof_index=0)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return GetMessageClass(pool.FindMessageTypeByName("tensorflow.Event"))


def read_records(data):
    """The payloads of a TFRecord file; raises ValueError on a bad CRC or a cut record."""
    records, pos = [], 0
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError("record header cut at offset %d" % pos)
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if length_crc != masked(crc32c(header)):
            raise ValueError("bad length CRC at offset %d" % pos)
        payload = data[pos + 12:pos + 12 + length]
        if len(payload) != length or pos + 16 + length > len(data):
            raise ValueError("record cut at offset %d" % pos)
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if data_crc != masked(crc32c(payload)):
            raise ValueError("bad data CRC at offset %d" % pos)
        records.append(payload)
        pos += 16 + length
    return records


def png_size(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)
    sample = sys.argv[1]
    out_dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    path = subprocess.run([sample, out_dir], check=True, capture_output=True,
                          text=True).stdout.strip()
    name = os.path.basename(path)
    expect(os.path.dirname(path) == out_dir, "file in the folder asked for: " + path)
    expect(re.fullmatch(r"events\.out\.tfevents\.1700000000\.[^/]+", name) is not None,
           "file name " + name)
    data = open(path, "rb").read()
    records = read_records(data)
    print("%s: %d bytes, %d records, every length and data CRC-32C checked" %
          (name, len(data), len(records)))

    Event = tf_messages()
    events = [Event.FromString(r) for r in records]
    expect(len(events) == 8, "8 events, got %d" % len(events))
    first = events[0]
    expect(first.WhichOneof("what") == "file_version" and first.file_version == "brain.Event:2",
           "version event first")
    expect(first.wall_time == 1700000000.25, "version wall time")

    got = []
    for e in events[1:]:
        expect(e.WhichOneof("what") == "summary", "summary event")
        expect(len(e.summary.value) == 1, "one value per event")
        v = e.summary.value[0]
        kind = v.WhichOneof("value")
        got.append((v.tag, e.step, kind))
        if kind == "simple_value":
            print("  step %d  %-22s %.6f  (wall %.2f)" % (e.step, v.tag, v.simple_value,
                                                          e.wall_time))
        else:
            print("  step %d  %-22s image %dx%d colorspace %d, %d PNG bytes" %
                  (e.step, v.tag, v.image.width, v.image.height, v.image.colorspace,
                   len(v.image.encoded_image_string)))
    expect(got == [("train/loss", s, "simple_value") for s in range(1, 6)] +
           [("epoch/valid_accuracy", 5, "simple_value"), ("activations/conv1", 5, "image")],
           "tags, steps and kinds: %r" % got)
    for step in range(1, 6):
        e = events[step]
        expect(e.wall_time == 1700000000.5 + step, "wall time of step %d" % step)
        # simple_value is a float: 1/3 is stored as the nearest float32.
        want = struct.unpack("<f", struct.pack("<f", 1.0 / step))[0]
        expect(e.summary.value[0].simple_value == want, "loss at step %d" % step)
    expect(events[6].summary.value[0].simple_value == 0.875, "accuracy value")
    img = events[7].summary.value[0].image
    expect((img.width, img.height, img.colorspace) == (5, 3, 1), "image fields")
    expect(png_size(img.encoded_image_string) == (5, 3), "PNG header size")

    # The reader does check: one flipped byte in the last record's data fails its CRC.
    broken = bytearray(data)
    broken[-10] ^= 0x01
    try:
        read_records(bytes(broken))
        expect(False, "a flipped byte went unnoticed")
    except ValueError as err:
        print("corrupted copy rejected:", err)
    print("OK")


if __name__ == "__main__":
    main()
