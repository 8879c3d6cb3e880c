# The Librarity image: the bot, the worker and the scheduler all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY services services
COPY db db
COPY locales locales
# The CPU build of torch first, so the embedding model never pulls a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 && pip install .

VOLUME ["/data"]
EXPOSE 8443
CMD ["librarity", "run"]
