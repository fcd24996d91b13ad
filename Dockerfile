# The web, worker and beat image (docker-compose.yml). WeasyPrint needs Pango and a font.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . .
# Editable, so templates/, static/ and locale/ are found beside the code (settings.BASE_DIR).
RUN pip install -c constraints.txt -e . \
    && DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=localhost \
        python manage.py collectstatic --no-input -v 0 \
    && useradd --system --create-home --uid 1000 coop \
    && mkdir -p var/media && chown coop var/media

USER coop
EXPOSE 8000
CMD ["gunicorn", "coop.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
