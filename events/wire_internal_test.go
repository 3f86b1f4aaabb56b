package events

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The tags of wireBody are the top-level keys that Decode models: the
// Kind constants and the other Account Activity keys, and an XAA
// delivery's data and meta.
func TestWireBodyTagsAreTheKinds(t *testing.T) {
	var tags []string
	typ := reflect.TypeFor[wireBody]()
	for i := range typ.NumField() {
		if name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); name != "" {
			tags = append(tags, name)
		}
	}
	assert.ElementsMatch(t, []string{kindForUserID, kindUserHasBlocked, KindTweetCreate, KindFavorite,
		KindFollow, KindBlock, KindMute, KindTweetDelete, KindUserEvent, KindReplayJobStatus,
		KindDirectMessage, KindDMIndicateTyping, KindDMMarkRead, kindUsers, kindApps, "data", "meta"}, tags)
}
