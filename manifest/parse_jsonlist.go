package manifest

// jsonItemTexts cuts the items of a JSON List (as `kubectl get -o json` writes it) out of the
// document, as itemTexts does for block-style YAML: an item is then read again (for the line of a
// field, or its JSON) from its own bytes, not by parsing the whole List once per finding. Each
// item's text is its JSON object, from its "{" to its "}", and its line is the line of that "{"
// (the lines inside it are the document's). It returns nil unless the document is a JSON object
// whose "items" key holds an array of exactly n objects.
func jsonItemTexts(text []byte, n int) []itemText {
	i := skipJSONSpace(text, 0)
	if i >= len(text) || text[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipJSONSpace(text, i)
		switch {
		case i >= len(text) || text[i] == '}':
			return nil
		case text[i] == ',':
			i++
			continue
		case text[i] != '"':
			return nil
		}
		end := skipJSONString(text, i)
		if end < 0 {
			return nil
		}
		key := string(text[i+1 : end-1])
		i = skipJSONSpace(text, end)
		if i >= len(text) || text[i] != ':' {
			return nil
		}
		i = skipJSONSpace(text, i+1)
		if key == "items" {
			return jsonArrayItems(text, i, n)
		}
		if i = skipJSONValue(text, i); i < 0 {
			return nil
		}
	}
}

// jsonArrayItems returns the objects of the array that starts at text[i], nil unless there are n.
func jsonArrayItems(text []byte, i, n int) []itemText {
	if i >= len(text) || text[i] != '[' {
		return nil
	}
	out := make([]itemText, 0, n)
	line, counted := 1, 0 // line of text[counted]
	for i++; ; {
		i = skipJSONSpace(text, i)
		switch {
		case i >= len(text):
			return nil
		case text[i] == ']':
			if len(out) != n {
				return nil
			}
			return out
		case text[i] == ',':
			i++
			continue
		case text[i] != '{' || len(out) == n:
			return nil
		}
		end := skipJSONValue(text, i)
		if end < 0 {
			return nil
		}
		for ; counted < i; counted++ {
			if text[counted] == '\n' {
				line++
			}
		}
		out = append(out, itemText{text: append([]byte(nil), text[i:end]...), line: line, start: i, dash: -1})
		i = end
	}
}

// skipJSONString returns the offset after the string that starts at text[i] (a '"'), -1 when it
// does not end.
func skipJSONString(text []byte, i int) int {
	for i++; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipJSONValue returns the offset after the value that starts at text[i], -1 when it does not
// end; it does not validate the value (the YAML parser did).
func skipJSONValue(text []byte, i int) int {
	if i >= len(text) {
		return -1
	}
	switch text[i] {
	case '"':
		return skipJSONString(text, i)
	case '{', '[':
		depth := 0
		for ; i < len(text); i++ {
			switch text[i] {
			case '"':
				if i = skipJSONString(text, i); i < 0 {
					return -1
				}
				i-- // the loop's i++ moves past the string
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for i < len(text) {
		switch text[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
}
