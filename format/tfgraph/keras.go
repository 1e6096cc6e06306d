package tfgraph

import (
	"fmt"
	"io"
	"strings"

	"github.com/aigis-sec/aigis/format/internal/protowire"
)

// KerasMetadata is what keras_metadata.pb holds: one entry per Keras
// object of a SavedModel written by tf.keras (SavedMetadata in
// keras/protobuf/saved_metadata.proto).
type KerasMetadata struct {
	Objects []KerasObject
}

// KerasObject is one SavedObject of keras_metadata.pb.
type KerasObject struct {
	NodeID     int64  // node_id: index in the SavedModel's object graph
	Path       string // node_path, e.g. "root.layer_with_weights-0" (truncated)
	Identifier string // identifier, e.g. "_tf_keras_layer" (truncated)
	// Metadata is the JSON the object was saved with: its class_name,
	// config and, for a Lambda layer, its marshalled function. It is what
	// Keras deserialises when the model is loaded with keras.models.load_model.
	Metadata string
	Offset   int64 // byte offset of the SavedObject
}

// ParseKerasMetadata reads keras_metadata.pb of size bytes. SavedMetadata
// has nodes 1; SavedObject has version 1 (a VersionDef, skipped),
// node_id 2, node_path 3, identifier 4 and metadata 5.
//
// On error it returns what was read so far (never nil); a metadata string
// longer than MaxMetadataBytes is a *safeio.LimitError, because the Keras
// configuration is what must be judged.
func ParseKerasMetadata(r io.ReaderAt, size int64, lim Limits) (*KerasMetadata, error) {
	w := protowire.NewReaderAt(r, size, wireOptions)
	km := &KerasMetadata{}
	err := message(w, 0, size, func(f protowire.Field) error {
		if f.Num != 1 {
			return nil
		}
		if len(km.Objects) >= lim.MaxKerasObjects {
			return limitErr("MaxKerasObjects", int64(lim.MaxKerasObjects), "")
		}
		o := KerasObject{Offset: f.At}
		err := w.Message(f.Start, f.End, func(g protowire.Field) error {
			switch {
			case g.Num == 2 && g.Wire == protowire.Varint:
				o.NodeID = int64(int32(g.Val))
			case (g.Num == 3 || g.Num == 4) && g.Wire == protowire.Bytes:
				b, err := w.Peek(g.Start, min(g.End, g.Start+displayMax))
				if err != nil {
					return err
				}
				if g.Num == 3 {
					o.Path = truncate(b, displayMax)
				} else {
					o.Identifier = truncate(b, displayMax)
				}
			case g.Num == 5 && g.Wire == protowire.Bytes:
				if g.End-g.Start > lim.MaxMetadataBytes {
					return limitErr("MaxMetadataBytes", lim.MaxMetadataBytes, fmt.Sprintf("metadata of %d bytes at offset %d", g.End-g.Start, g.Start))
				}
				b, err := w.Peek(g.Start, g.End)
				if err != nil {
					return err
				}
				o.Metadata = strings.ToValidUTF8(string(b), "\uFFFD")
			}
			return nil
		})
		km.Objects = append(km.Objects, o)
		return err
	})
	if err == nil && len(km.Objects) == 0 && size > 0 {
		err = w.Malformed(0, "no object: not keras_metadata.pb")
	}
	return km, err
}
