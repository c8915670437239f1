package org.goldenstick.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.goldenstick.llm.tokenizer.ChatPrompt;
import org.goldenstick.llm.tokenizer.ChatTemplate;
import org.goldenstick.llm.tokenizer.TokenizerException;
import picocli.CommandLine.Option;

/** {@code --chat} and {@code --system}: the text becomes a user turn rendered by the model's chat template. */
final class ChatOptions {
    @Option(names = "--chat", description = "Render the text as a user message with the model's chat template (tokenizer_config.json, chat_template.jinja or GGUF tokenizer.chat_template), "
            + "opening the assistant's turn; its special tokens are read as tokens.")
    boolean chat;
    @Option(names = "--system", description = "With --chat: a system message before the user message.")
    String system;

    /** The model's template, or an error saying where it was looked for; null without --chat. */
    ChatPrompt prompt(Path model) {
        if (!chat) {
            if (system != null) throw new IllegalArgumentException("--system needs --chat");
            return null;
        }
        return ChatPrompt.of(model).orElseThrow(() -> new TokenizerException(model + ": the model has no chat template (looked for "
                + (model.toString().endsWith(".gguf") ? "tokenizer.chat_template in the GGUF metadata" : "chat_template.jinja and chat_template in tokenizer_config.json")
                + "); leave out --chat"));
    }

    /** The rendered conversation: the optional system message, the user's text, and the assistant's opening. */
    String render(ChatPrompt prompt, String user) {
        List<ChatTemplate.Message> messages = new ArrayList<>();
        if (system != null) messages.add(new ChatTemplate.Message("system", system));
        messages.add(new ChatTemplate.Message("user", user));
        return prompt.render(messages, true);
    }
}
