"""Request and response bodies of the OpenAI-compatible routes (the subset of OpenAI's API that
llama-server and Ollama serve too), typed for validation and for the OpenAPI schema."""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

TASK_PREFIX = "ecomlm:"


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are understood."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: Optional[str] = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Union[str, list[ContentPart], None] = None

    def text(self) -> str:
        """The message's text (text parts joined; other parts refused by the route)."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "".join(p.text or "" for p in self.content if p.type == "text")


class StreamOptions(BaseModel):
    include_usage: bool = False


class Sampling(BaseModel):
    """The usual sampling fields. Free generation samples with them; e-commerce tasks
    (``model: "ecomlm:TASK"``) always decode greedily under the task's constraint and ignore them."""

    model_config = ConfigDict(extra="ignore")  # clients send more fields than any server reads
    max_tokens: Optional[int] = Field(None, ge=1, description="default 512, capped by the context")
    max_completion_tokens: Optional[int] = Field(None, ge=1, description="same as max_tokens")
    temperature: float = Field(0.8, ge=0, le=2, description="0 for greedy decoding")
    top_p: float = Field(0.95, gt=0, le=1)
    top_k: int = Field(40, ge=0, description="llama.cpp extension; 0 disables it")
    min_p: float = Field(0.05, ge=0, le=1, description="llama.cpp extension")
    repeat_penalty: float = Field(1.0, gt=0, description="llama.cpp extension")
    presence_penalty: float = Field(0.0, ge=-2, le=2)
    frequency_penalty: float = Field(0.0, ge=-2, le=2)
    stop: Union[str, list[str], None] = None
    seed: Optional[int] = None
    n: int = Field(1, ge=1, le=1, description="only one choice per request")
    stream: bool = False
    stream_options: Optional[StreamOptions] = None
    user: Optional[str] = None
    inputs: dict[str, Any] = Field(default_factory=dict, description=(
        "ecomlm extension, for model 'ecomlm:TASK': the task's other inputs (e.g. labels); the "
        "last user message (or prompt) is the text, or a JSON object of all the inputs"))
    truncate: bool = Field(False, description="ecomlm extension: cut an over-long task input to fit")

    def limit(self) -> Optional[int]:
        return self.max_completion_tokens or self.max_tokens


class ChatCompletionRequest(Sampling):
    model: str = Field(..., description="an id from GET /v1/models: the served model, or "
                                        "'ecomlm:TASK' for an e-commerce task")
    messages: list[ChatMessage] = Field(..., min_length=1)
    tools: Optional[list[Any]] = Field(None, description="not supported (refused when given)")


class CompletionRequest(Sampling):
    model: str = Field(..., description="an id from GET /v1/models")
    prompt: Union[str, list[str]] = Field(..., description="the raw prompt, control tokens included "
                                                           "(`ecomlm prompt` prints a task's)")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class TaskOutput(BaseModel):
    """ecomlm extension on task answers: the typed result (labels, spans with offsets...)."""

    task: str
    result: dict[str, Any]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: AssistantMessage
    logprobs: Optional[Any] = None
    finish_reason: Optional[str]


class _Answer(BaseModel):
    id: str
    created: int
    model: str
    usage: Usage
    ecomlm: Optional[TaskOutput] = None


class ChatCompletion(_Answer):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]


class CompletionChoice(BaseModel):
    text: str
    index: int
    logprobs: Optional[Any] = None
    finish_reason: Optional[str]


class Completion(_Answer):
    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChoice]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "ecomlm"
    description: str = ""


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


__all__ = ["ChatCompletion", "ChatCompletionRequest", "ChatMessage", "Completion", "CompletionRequest",
           "ModelCard", "ModelList", "Sampling", "TASK_PREFIX", "TaskOutput", "Usage"]
