async def test_web_chat_welcome(chat):
    replies = await chat.start()
    assert any("confidential" in r for r in replies), replies
    text = await chat.say("1")
    assert "How can I help you?" in text
