package imagegen

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// onnxMetadataProps reads ModelProto.metadata_props (field 14, entries of
// StringStringEntryProto with key 1 and value 2) straight from the model
// bytes, without building an ONNX Runtime session for it.
func onnxMetadataProps(b []byte) (map[string]string, error) {
	const metadataProps, entryKey, entryValue = 14, 1, 2
	out := map[string]string{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, errors.New("not an ONNX model (bad protobuf tag)")
		}
		b = b[n:]
		if num == metadataProps && typ == protowire.BytesType {
			entry, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, errors.New("not an ONNX model (truncated metadata entry)")
			}
			b = b[m:]
			var key, value string
			for len(entry) > 0 {
				en, et, k := protowire.ConsumeTag(entry)
				if k < 0 {
					return nil, errors.New("not an ONNX model (bad metadata entry)")
				}
				entry = entry[k:]
				if et != protowire.BytesType {
					k = protowire.ConsumeFieldValue(en, et, entry)
					if k < 0 {
						return nil, errors.New("not an ONNX model (bad metadata entry)")
					}
					entry = entry[k:]
					continue
				}
				s, k := protowire.ConsumeBytes(entry)
				if k < 0 {
					return nil, errors.New("not an ONNX model (bad metadata entry)")
				}
				entry = entry[k:]
				switch en {
				case entryKey:
					key = string(s)
				case entryValue:
					value = string(s)
				}
			}
			out[key] = value
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, errors.New("not an ONNX model (truncated field)")
		}
		b = b[n:]
	}
	return out, nil
}
