package chat

import (
	"regexp"
	"strings"

	"github.com/lcgo/lcgo/shared/config"
)

var (
	gptVersion  = regexp.MustCompile(`(?i)gpt-(\d+(?:\.\d+)?)([a-z])?`)
	omniVersion = regexp.MustCompile(`(?i)\bo(\d+(?:\.\d+)?)\b`)
)

// Sender is the name shown above a reply, by LibreChat's rules: the
// conversation's modelLabel, else a name derived from the model, else the
// endpoint's display label.
func Sender(endpoint string, custom bool, model, modelLabel, displayLabel string) string {
	if modelLabel != "" {
		return modelLabel
	}
	fromModel := func() string {
		if m := omniVersion.FindStringSubmatch(model); m != nil {
			return "o" + m[1]
		}
		switch {
		case strings.Contains(model, "mistral"), strings.Contains(model, "codestral"):
			return "Mistral"
		case strings.Contains(model, "deepseek"):
			return "Deepseek"
		case strings.Contains(model, "kimi"):
			return "Kimi"
		case strings.Contains(model, "moonshot"):
			return "Moonshot"
		case strings.Contains(model, "gpt-"):
			if m := gptVersion.FindStringSubmatch(model); m != nil {
				return "GPT-" + m[1] + m[2]
			}
			return "GPT"
		}
		return ""
	}
	switch {
	case endpoint == config.EndpointOpenAI || endpoint == config.EndpointBedrock && !custom:
		if s := fromModel(); s != "" {
			return s
		}
		if endpoint == config.EndpointOpenAI {
			return "ChatGPT"
		}
		return "AWS Bedrock"
	case endpoint == config.EndpointAnthropic:
		return "Claude"
	case endpoint == config.EndpointGoogle:
		if strings.Contains(strings.ToLower(model), "gemma") {
			return "Gemma"
		}
		return "Gemini"
	case custom:
		if s := fromModel(); s != "" {
			return s
		}
		if displayLabel != "" {
			return displayLabel
		}
		return "AI"
	}
	return ""
}
